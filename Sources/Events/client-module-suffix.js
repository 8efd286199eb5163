
// ES module form (/events/client.mjs): the classic script above, then these exports.
export const { connect, io, Manager, Socket } = globalThis.Fanout;
export default globalThis.Fanout;
