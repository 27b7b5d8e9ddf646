// bullrush's ESM entry: the CommonJS entry's exports, by name and as the default (one
// module instance, so classes are the same under `import` and `require`). Node finds the
// names because index.js lists its exports in one object literal.

export * from './index.js';
export { default } from './index.js';
