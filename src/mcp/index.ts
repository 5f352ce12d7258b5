// The MCP server's entry for the other apps: the daemon serves it at /mcp. (`troupe mcp`, the stdio
// server, is src/mcp/cli.ts, which only src/cli.ts loads.) .dependency-cruiser.cjs lets the other
// apps import src/mcp through this module only.
export { mcpServerFactory } from './server.js';
export type { DaemonCall } from './backend.js';
