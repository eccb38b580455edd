package rules

import (
	goast "go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/expr-lang/expr/ast"
	exprparser "github.com/expr-lang/expr/parser"
)

// publicExpr are the expr packages rules may import: those expr's
// documentation builds on (see the package doc). expr (Compile and its
// options), ast (the nodes, Visitor, Walk and Patch patchers work with), vm
// (the Program Compile returns and the VM that runs it) and file (the
// Error, with its position, that Compile and Run return). The pipeline's
// stages (parser, checker, optimizer, compiler, conf) and expr's tables
// (builtin) are expr's own business: calling or reading them ties rules
// to how expr.Compile happens to be put together, which an upgrade may
// change silently.
var publicExpr = map[string]bool{
	"github.com/expr-lang/expr":      true,
	"github.com/expr-lang/expr/ast":  true,
	"github.com/expr-lang/expr/vm":   true,
	"github.com/expr-lang/expr/file": true,
}

// privateNodeAPI are the methods of expr's nodes that expose the checker's
// own representation of types (checker/nature): rules sets and reads types
// as reflect.Type only (SetType, Type), as expr's Patch guide does.
var privateNodeAPI = map[string]bool{"Nature": true, "SetNature": true}

// TestRulesUseOnlyExprPublicAPI fails when a file of the package imports
// another expr package.
func TestRulesUseOnlyExprPublicAPI(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		goast.Inspect(f, func(n goast.Node) bool {
			if sel, ok := n.(*goast.SelectorExpr); ok && privateNodeAPI[sel.Sel.Name] {
				t.Errorf("%s: %s reads the checker's natures; use Type and SetType", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/expr-lang/expr") && !publicExpr[path] {
				t.Errorf("%s imports %s: compile through expr.Compile with options and patchers instead",
					fset.Position(imp.Pos()), path)
			}
		}
	}
}

// TestValidateRunsOnlyOnTheWholeRule: the checks run at the root of the
// tree expr walks, and not at all when the node rootMark took for the root
// does not hold the whole rule (CompileWith then refuses the rule).
func TestValidateRunsOnlyOnTheWholeRule(t *testing.T) {
	t.Parallel()
	src := `reduce(tags, #) > 0`
	tree, err := exprparser.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(src, Options{}.withDefaults())
	ast.Walk(&tree.Node, v.mark)
	ast.Walk(&tree.Node, v)
	if !v.ran || v.pre == nil || !strings.Contains(v.pre.Message, `"reduce" is not available`) {
		t.Fatalf("whole rule: ran %v, pre %v", v.ran, v.pre)
	}
	partial := newValidator(src, Options{}.withDefaults())
	ast.Walk(&tree.Node, partial.mark)
	left := &tree.Node.(*ast.BinaryNode).Left
	partial.mark.root = left // as if expr walked the root first
	ast.Walk(left, partial)
	if partial.ran || partial.pre != nil {
		t.Fatalf("part of the rule: ran %v, pre %v", partial.ran, partial.pre)
	}
}

// TestExprBuiltinAsksExpr: exprBuiltin tells expr's own functions from
// unknown names without reading expr's tables, and every builtin rules
// allow is one (EnableBuiltin ignores a name expr no longer has).
func TestExprBuiltinAsksExpr(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"split": true, "date": true, "toJSON": true, "repeat": true,
		"frobnicate": false, "total_spent": false, "days_since": false, "nil": false,
	} {
		if got := exprBuiltin(name); got != want {
			t.Errorf("exprBuiltin(%q) = %v, want %v", name, got, want)
		}
	}
	for _, name := range allowedBuiltins {
		if !exprBuiltin(name) {
			t.Errorf("allowed builtin %q is not one of expr's: rules calling it would fail as unknown", name)
		}
	}
}
