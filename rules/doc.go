// Package rules compiles and evaluates audience rules: boolean expressions
// in the expr language (github.com/expr-lang/expr) over a customer's Env,
// checked at load with positions and suggestions, and evaluated once per
// customer without reflection on the hot path.
//
// # What rules asks of expr
//
// rules builds only on what expr documents for embedders, so that an expr
// upgrade either keeps working or fails a test, never changes behaviour
// silently. That is:
//
//   - expr.Compile with options: Env (the typed environment), AsBool,
//     Optimize, MaxNodes, DisableAllBuiltins and EnableBuiltin, Function
//     with declared types, and Patch;
//   - patchers: ast.Visitor values that read the typed tree and replace
//     nodes with ast.Patch, setting a new node's type where the result of
//     its function says less than the node it replaces, as expr's Patch
//     guide does;
//   - the *vm.Program Compile returns, its Node (the checked tree), and
//     vm.VM's Run and MemoryBudget, which expr's maintainers give as the way
//     to reuse a VM and bound its memory (expr has no option for either);
//   - *file.Error, for the line and column of compile and run errors.
//
// It does not call expr's pipeline stages (parser, checker, optimizer,
// compiler, conf) or read its tables (builtin.Index, the checker's
// natures); TestRulesUseOnlyExprPublicAPI enforces the imports. Where expr
// offers no typed answer, rules reads its error messages: "unknown name",
// "has no field", "unexpected token" and "memory budget exceeded" are
// matched as text, and a test per message (errors_test.go) fails if expr
// rewords one.
//
// Three compiles make a Program (see CompileWith): the rule as written,
// with rules' own checks run as a patcher (validate); the rule as written,
// optimised, for Fields and the parity tests; and the rule with fastCalls,
// the patcher that reads Env fields and calls Env functions without
// reflection.
package rules
