// The file Piscina starts its threads on. Piscina require()s its worker file before it tries
// import(); on Node 20.19+ a require() of an ES module (require(esm)) can meet an import() of the
// same module under way in that thread and abort the whole process (V8: "IsGraphAsync must be used
// on an instantiated module"). This CommonJS file is required as CommonJS and loads the ES module
// worker (worker.ts) by import() only. Its export is a promise of the handler, which Piscina awaits.
module.exports = import('./worker.js').then((m) => m.default);
