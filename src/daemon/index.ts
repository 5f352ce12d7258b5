// The daemon's entry for the other apps (the bench and `troupe plan` drive a daemon): start one, configure
// it, call its HTTP API. The other apps import src/daemon through this module only (.dependency-cruiser.cjs).
export { callDaemon, type Endpoint, type Response } from './client.js';
export { clientSocket, configFrom, loadConfig, stateDir, DAEMON_DEFAULTS, type DaemonConfig } from './config.js';
export { daemonLogger, startDaemon, stopOnSignals, type RunningDaemon } from './daemon.js';
// The CLIs' shared parts: commander set up one way, flag parsers whose errors name the flag, the exit statuses.
export { CliExit, collect, configure, intFlag, msFlag, program, runProgram, socketFlag, usage, type Outcome } from './cli-kit.js';
export { EXIT, EXIT_HELP } from './exit-codes.js';
