package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestLogAttributesUseTheVocabulary: every attribute key of a slog call in
// the source tree (non-test files) is in the table "Log attributes" of
// docs/operations.md, and every key of the table is used, so one id has one
// name in every log line (err, never error; delivery, never delivery_id) and
// log queries work across packages.
func TestLogAttributesUseTheVocabulary(t *testing.T) {
	t.Parallel()
	vocab := logVocabulary(t, "../../docs/operations.md")
	used := map[string]bool{}
	for _, k := range logKeys(t, "../..") {
		used[k.key] = true
		if !vocab[k.key] {
			t.Errorf("%s: log attribute %q is not in docs/operations.md's \"Log attributes\" table: use a key from it, or add the key there", k.pos, k.key)
		}
	}
	for k := range vocab {
		if !used[k] {
			t.Errorf("docs/operations.md lists log attribute %q, which no slog call uses: remove it", k)
		}
	}
}

// logVocabulary reads the keys of the "Log attributes" table: each `key`
// of a row's first column.
func logVocabulary(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "## Log attributes")
	if !ok {
		t.Fatalf("%s has no section \"## Log attributes\"", path)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	key := regexp.MustCompile("`([a-z_]+)`")
	out := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || cells[0] != "" {
			continue
		}
		for _, m := range key.FindAllStringSubmatch(cells[1], -1) {
			out[m[1]] = true
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: the Log attributes table has no rows", path)
	}
	return out
}

type logKey struct {
	key string
	pos token.Position
}

// logKeys returns the string-literal attribute keys of slog calls in the
// non-test Go files under root.
func logKeys(t *testing.T, root string) []logKey {
	t.Helper()
	var out []logKey
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				for _, k := range callKeys(call) {
					out = append(out, logKey{key: k.key, pos: fset.Position(k.pos)})
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("found no slog attribute keys: the walk is broken")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pos.String() < out[j].pos.String() })
	return out
}

type keyAt struct {
	key string
	pos token.Pos
}

// slogAttrs are slog's attribute constructors: their first argument is a key.
var slogAttrs = map[string]bool{"String": true, "Int": true, "Int64": true, "Uint64": true, "Float64": true,
	"Bool": true, "Time": true, "Duration": true, "Any": true, "Group": true}

// loggerMethods maps a *slog.Logger method to the index of its first
// key-value argument.
var loggerMethods = map[string]int{"Debug": 1, "Info": 1, "Warn": 1, "Error": 1, "DebugContext": 2,
	"InfoContext": 2, "WarnContext": 2, "ErrorContext": 2, "Log": 3, "LogAttrs": 3, "With": 0}

// loggerName matches the receivers that hold a logger (a.log, opts.Logger,
// slog.Default()).
var loggerName = regexp.MustCompile(`^(?i:log|logger)$`)

func callKeys(call *ast.CallExpr) []keyAt {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "slog" && slogAttrs[sel.Sel.Name] && len(call.Args) > 0 {
		return literalKey(call.Args[0])
	}
	first, ok := loggerMethods[sel.Sel.Name]
	if !ok || !isLogger(sel.X) {
		return nil
	}
	var out []keyAt
	for i := first; i < len(call.Args); i += 2 {
		if c, ok := call.Args[i].(*ast.CallExpr); ok && isSlogAttr(c) {
			i-- // an Attr takes one slot; its key is found when Inspect reaches it
			continue
		}
		out = append(out, literalKey(call.Args[i])...)
	}
	return out
}

func isLogger(x ast.Expr) bool {
	switch e := x.(type) {
	case *ast.Ident:
		return loggerName.MatchString(e.Name)
	case *ast.SelectorExpr:
		return loggerName.MatchString(e.Sel.Name)
	case *ast.CallExpr: // slog.Default(), cmp.Or(opts.Logger, slog.Default())
		for _, a := range append([]ast.Expr{e.Fun}, e.Args...) {
			if s, ok := a.(*ast.SelectorExpr); ok && (s.Sel.Name == "Default" || isLogger(s)) {
				return true
			}
			if c, ok := a.(*ast.CallExpr); ok && isLogger(c) {
				return true
			}
		}
	}
	return false
}

func isSlogAttr(c *ast.CallExpr) bool {
	s, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := s.X.(*ast.Ident)
	return ok && pkg.Name == "slog" && slogAttrs[s.Sel.Name]
}

// literalKey returns the key when e is a string literal.
func literalKey(e ast.Expr) []keyAt {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return nil
	}
	k, err := strconv.Unquote(lit.Value)
	if err != nil {
		return nil
	}
	return []keyAt{{key: k, pos: lit.Pos()}}
}
