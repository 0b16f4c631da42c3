/** An order, as the sample app stores it (in memory) and returns it. */
export interface Order {
  readonly id: string;
  /** The tenant the order belongs to: the `ownerId` of the key that created it. */
  readonly ownerId: string;
  readonly item: string;
  readonly quantity: number;
  readonly createdAt: Date;
  /** `true` for sandbox orders, the only ones test keys (`sk_test_...`) ever see or create. */
  readonly sandbox: boolean;
}
