// The parts of the native `bcrypt` package (6.x, CommonJS, no bundled types) that Wharf uses.
declare module 'bcrypt' {
  /** Runs in libuv's thread pool. */
  function compare(data: string, encrypted: string): Promise<boolean>;
  function hash(data: string, saltOrRounds: number): Promise<string>;
  const bcrypt: { compare: typeof compare; hash: typeof hash };
  export default bcrypt;
}
