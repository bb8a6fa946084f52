/** Current time in unix seconds; repositories take it as an option so tests can move time. */
export type Clock = () => number;

export const systemClock: Clock = () => Math.floor(Date.now() / 1000);
