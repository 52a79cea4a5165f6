// What the server wiring needs from the auth modules.
export { createAccessController, openAccessController, type AuthDeps, type AuthService } from './controller.js';
export type { AuthConfig } from './config.js';
export type { AuthAccessController, AuthPrincipal, TokenHandler } from './types.js';
