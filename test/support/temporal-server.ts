// Moved to servers/ so that `mirl bench` starts its throwaway Temporal server with the same code.
export * from '../../servers/temporal-dev-server.js';
