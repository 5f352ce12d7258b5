/** Raw Piscina worker for the `noop` baseline: returns its input unchanged. */
export default (x: unknown): unknown => x;
