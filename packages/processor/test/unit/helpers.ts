import type { Rule, RuleContext } from '../../src/rules';

export const ctx: RuleContext = { stream: 'customers', column: 'customer_city' };

/** Runs a rule with the test context. */
export function run(rule: Rule, value: unknown): unknown {
  return rule(value, ctx);
}
