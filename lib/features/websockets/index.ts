/**
 * `nestjs-opaque-keys/websockets`: the API key guard for WebSocket gateways.
 * A separate entry point, so that `@nestjs/websockets` stays an optional peer
 * dependency that the main entry never loads.
 */
export { WsApiKeyGuard, rememberHandshake } from './ws-api-key.guard.js';
