import { IsInt, IsNotEmpty, IsString, Max, MaxLength, Min } from 'class-validator';

/** Body of `POST /orders`. */
export class CreateOrderDto {
  /** What is ordered, 1-200 characters. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  item!: string;

  /** How many, a whole number from 1 to 1000. */
  @IsInt()
  @Min(1)
  @Max(1000)
  quantity!: number;
}
