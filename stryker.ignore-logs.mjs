// A Stryker ignorer: the text and fields of log lines are not behaviour the tests pin down
// (which lines are written is: those calls are still mutated as a whole). Used by npm run mutate.
import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/** `log.warn(…)`, `this.#log.info(…)`, `s.log.debug(…)`, `warn.warn(source, kind, …)`. */
function isLogCall(node) {
  if (node.type !== 'CallExpression') return false;
  const callee = node.callee;
  if (callee.type !== 'MemberExpression' || callee.property.type !== 'Identifier' || !LEVELS.has(callee.property.name)) return false;
  const obj = callee.object;
  const name = obj.type === 'Identifier' ? obj.name : obj.type === 'MemberExpression' ? (obj.property.name ?? obj.property.id?.name) : '';
  return /log|warn/i.test(name ?? '');
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'log-lines', {
    shouldIgnore(path) {
      // Only the arguments: removing the call altogether is still a mutant the tests must see.
      if (path.parentPath && isLogCall(path.parentPath.node) && path.node !== path.parentPath.node.callee) {
        return 'the text and fields of a log line';
      }
      return undefined;
    },
  }),
];
