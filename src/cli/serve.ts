// Tests and `wharf serve` start the server from here; the wiring itself is the runtime's.
export { splitAddr, startServer, type RunningServer } from '../runtime/server.js';
