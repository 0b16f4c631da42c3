// autocannon ships no types; the bench uses a few fields of its result.
declare module 'autocannon' {
  const autocannon: (options: Record<string, unknown>) => Promise<any>;
  export default autocannon;
}
