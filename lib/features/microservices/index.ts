/**
 * `nestjs-opaque-keys/microservices`: the API key guard for microservice
 * message handlers. A separate entry point, so that `@nestjs/microservices`
 * stays an optional peer dependency that the main entry never loads.
 */
export { RpcApiKeyGuard } from './rpc-api-key.guard.js';
