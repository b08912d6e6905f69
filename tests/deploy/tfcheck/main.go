// Command tfcheck checks deploy/terraform offline with HashiCorp's own HCL library (Debian's
// golang-github-hashicorp-hcl-v2-dev): no providers, no network. Usage:
//
//	tfcheck ROOT [TFVARS OUTDIR LOCAL=PATTERN...]
//
// Every .tf and .tfvars file under ROOT must parse and be formatted as hclwrite.Format (the
// formatter behind `terraform fmt`) writes it; every .tftpl must parse. In every module each
// var.X and local.X used must be declared and each one declared used; each module call must
// pass only the child's variables and all its required ones; each templatefile() call must
// pass exactly the variables its template uses.
//
// With TFVARS, the root variables are typed and defaulted as Terraform does, their
// validations must hold, and each named local (which may depend on variables and other
// locals only) is evaluated and written to OUTDIR/PATTERN (%s = the map key).
package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

var failures int

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tfcheck: "+format+"\n", args...)
	failures++
}

func failDiags(diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			where := ""
			if d.Subject != nil {
				where = d.Subject.String() + ": "
			}
			fail("%s%s: %s", where, d.Summary, d.Detail)
		}
	}
}

type module struct {
	dir       string
	variables map[string]*hclsyntax.Block
	locals    map[string]*hclsyntax.Attribute
	calls     []*hclsyntax.Block // module blocks
	bodies    []*hclsyntax.Body
}

// parseFile parses and format-checks one .tf or .tfvars file.
func parseFile(path string) *hclsyntax.Body {
	src, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
		return nil
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		failDiags(diags)
		return nil
	}
	if formatted := hclwrite.Format(src); !bytes.Equal(formatted, src) {
		fail("%s: not formatted (run `terraform fmt` or `tofu fmt`); first difference at line %d",
			path, firstDiffLine(src, formatted))
	}
	return f.Body.(*hclsyntax.Body)
}

func firstDiffLine(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range la {
		if i >= len(lb) || la[i] != lb[i] {
			return i + 1
		}
	}
	return len(la) + 1
}

func loadModule(dir string) *module {
	m := &module{dir: dir, variables: map[string]*hclsyntax.Block{}, locals: map[string]*hclsyntax.Attribute{}}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	for _, p := range paths {
		body := parseFile(p)
		if body == nil {
			continue
		}
		m.bodies = append(m.bodies, body)
		for _, b := range body.Blocks {
			switch b.Type {
			case "variable":
				if _, dup := m.variables[b.Labels[0]]; dup {
					fail("%s: variable %q declared twice", b.DefRange().String(), b.Labels[0])
				}
				m.variables[b.Labels[0]] = b
			case "locals":
				for name, a := range b.Body.Attributes {
					if _, dup := m.locals[name]; dup {
						fail("%s: local %q declared twice", a.SrcRange.String(), name)
					}
					m.locals[name] = a
				}
			case "module":
				m.calls = append(m.calls, b)
			}
		}
	}
	return m
}

// walk visits every expression of a body, with the enclosing top-level block.
func walk(body *hclsyntax.Body, top *hclsyntax.Block, visit func(hclsyntax.Expression, *hclsyntax.Block)) {
	for _, a := range body.Attributes {
		visit(a.Expr, top)
	}
	for _, b := range body.Blocks {
		t := top
		if t == nil {
			t = b
		}
		walk(b.Body, t, visit)
	}
}

func rootAttr(t hcl.Traversal) (string, string) {
	if len(t) < 2 {
		return t.RootName(), ""
	}
	if a, ok := t[1].(hcl.TraverseAttr); ok {
		return t.RootName(), a.Name
	}
	return t.RootName(), ""
}

func checkReferences(m *module) {
	usedVars, usedLocals := map[string]bool{}, map[string]bool{}
	for _, body := range m.bodies {
		walk(body, nil, func(e hclsyntax.Expression, top *hclsyntax.Block) {
			for _, t := range e.Variables() {
				root, name := rootAttr(t)
				switch root {
				case "var":
					// A variable's own validation does not count as a use.
					if top != nil && top.Type == "variable" && top.Labels[0] == name {
						continue
					}
					usedVars[name] = true
					if _, ok := m.variables[name]; !ok {
						fail("%s: var.%s is not declared in %s", t.SourceRange().String(), name, m.dir)
					}
				case "local":
					usedLocals[name] = true
					if _, ok := m.locals[name]; !ok {
						fail("%s: local.%s is not declared in %s", t.SourceRange().String(), name, m.dir)
					}
				}
			}
			checkTemplateCalls(m, e)
		})
	}
	for name, b := range m.variables {
		if !usedVars[name] {
			fail("%s: variable %q is declared but never used", b.DefRange().String(), name)
		}
	}
	for name, a := range m.locals {
		if !usedLocals[name] {
			fail("%s: local %q is declared but never used", a.SrcRange.String(), name)
		}
	}
}

// checkTemplateCalls: templatefile("${path.module}/F", { ... }) passes exactly what F uses.
func checkTemplateCalls(m *module, e hclsyntax.Expression) {
	hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok || call.Name != "templatefile" || len(call.Args) != 2 {
			return nil
		}
		pathVal, diags := call.Args[0].Value(&hcl.EvalContext{Variables: map[string]cty.Value{
			"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(m.dir)})}})
		obj, isObj := call.Args[1].(*hclsyntax.ObjectConsExpr)
		if diags.HasErrors() || !isObj {
			fail("%s: templatefile() needs a path under path.module and an object literal", call.Range().String())
			return nil
		}
		used, ok := templateVariables(pathVal.AsString())
		if !ok {
			return nil
		}
		passed := map[string]bool{}
		for _, item := range obj.Items {
			k := hcl.ExprAsKeyword(item.KeyExpr)
			if k == "" {
				fail("%s: templatefile() keys must be plain names", item.KeyExpr.Range().String())
				continue
			}
			passed[k] = true
			if !used[k] {
				fail("%s: %q is passed to %s but the template does not use it", item.KeyExpr.Range().String(), k, pathVal.AsString())
			}
		}
		for k := range used {
			if !passed[k] {
				fail("%s: %s uses %q but the call does not pass it", call.Range().String(), pathVal.AsString(), k)
			}
		}
		return nil
	})
}

func templateVariables(path string) (map[string]bool, bool) {
	src, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
		return nil, false
	}
	expr, diags := hclsyntax.ParseTemplate(src, path, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		failDiags(diags)
		return nil, false
	}
	used := map[string]bool{}
	for _, t := range expr.Variables() {
		used[t.RootName()] = true
	}
	return used, true
}

var metaArguments = map[string]bool{"source": true, "version": true, "providers": true, "count": true,
	"for_each": true, "depends_on": true}

func checkCalls(m *module, modules map[string]*module) {
	for _, call := range m.calls {
		src, ok := call.Body.Attributes["source"]
		if !ok {
			fail("%s: module %q has no source", call.DefRange().String(), call.Labels[0])
			continue
		}
		v, diags := src.Expr.Value(nil)
		if diags.HasErrors() || v.Type() != cty.String {
			fail("%s: module source must be a literal string", src.SrcRange.String())
			continue
		}
		child := modules[filepath.Clean(filepath.Join(m.dir, v.AsString()))]
		if child == nil {
			fail("%s: module source %s is not a local module of this tree", src.SrcRange.String(), v.AsString())
			continue
		}
		for name, a := range call.Body.Attributes {
			if !metaArguments[name] && child.variables[name] == nil {
				fail("%s: module %q passes %q, which %s does not declare", a.SrcRange.String(), call.Labels[0], name, child.dir)
			}
		}
		for name, b := range child.variables {
			if _, given := call.Body.Attributes[name]; !given && b.Body.Attributes["default"] == nil {
				fail("%s: module %q does not pass %q, required by %s", call.DefRange().String(), call.Labels[0], name, child.dir)
			}
		}
	}
}

func functions(baseDir string) map[string]function.Function {
	fns := map[string]function.Function{
		"alltrue": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
			Type:   function.StaticReturnType(cty.Bool),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				for it := args[0].ElementIterator(); it.Next(); {
					if _, v := it.Element(); v.IsNull() || v.False() {
						return cty.False, nil
					}
				}
				return cty.True, nil
			},
		}),
		"can": tryfunc.CanFunc, "try": tryfunc.TryFunc,
		"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc,
		"flatten": stdlib.FlattenFunc, "format": stdlib.FormatFunc, "join": stdlib.JoinFunc,
		"jsonencode": stdlib.JSONEncodeFunc, "keys": stdlib.KeysFunc, "length": stdlib.LengthFunc,
		"lookup": stdlib.LookupFunc, "lower": stdlib.LowerFunc, "max": stdlib.MaxFunc, "merge": stdlib.MergeFunc,
		"min": stdlib.MinFunc, "regex": stdlib.RegexFunc, "setsubtract": stdlib.SetSubtractFunc,
		"slice": stdlib.SliceFunc, "sort": stdlib.SortFunc, "toset": stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring": stdlib.MakeToFunc(cty.String), "upper": stdlib.UpperFunc, "values": stdlib.ValuesFunc,
	}
	// templatefile as Terraform defines it: the template sees only its variables and the
	// functions above (not templatefile itself).
	inner := map[string]function.Function{}
	for k, f := range fns {
		inner[k] = f
	}
	fns["templatefile"] = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}, {Name: "vars", Type: cty.DynamicPseudoType}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path := args[0].AsString()
			src, err := os.ReadFile(path)
			if err != nil {
				return cty.NilVal, err
			}
			expr, diags := hclsyntax.ParseTemplate(src, path, hcl.Pos{Line: 1, Column: 1})
			if diags.HasErrors() {
				return cty.NilVal, diags
			}
			vars := map[string]cty.Value{}
			for it := args[1].ElementIterator(); it.Next(); {
				k, v := it.Element()
				vars[k.AsString()] = v
			}
			out, diags := expr.Value(&hcl.EvalContext{Variables: vars, Functions: inner})
			if diags.HasErrors() {
				return cty.NilVal, diags
			}
			return convert.Convert(out, cty.String)
		},
	})
	return fns
}

// rootVariables types and defaults the tfvars values as Terraform does, and runs the validations.
func rootVariables(m *module, tfvars string) (cty.Value, bool) {
	body := parseFile(tfvars)
	if body == nil {
		return cty.NilVal, false
	}
	given := map[string]cty.Value{}
	for name, a := range body.Attributes {
		if m.variables[name] == nil {
			fail("%s: %q is not a variable of %s", a.SrcRange.String(), name, m.dir)
			continue
		}
		v, diags := a.Expr.Value(nil)
		failDiags(diags)
		given[name] = v
	}
	vals := map[string]cty.Value{}
	for name, b := range m.variables {
		ty, defaults := cty.DynamicPseudoType, (*typeexpr.Defaults)(nil)
		if t, ok := b.Body.Attributes["type"]; ok {
			var diags hcl.Diagnostics
			ty, defaults, diags = typeexpr.TypeConstraintWithDefaults(t.Expr)
			failDiags(diags)
		}
		v, ok := given[name]
		if !ok {
			d, has := b.Body.Attributes["default"]
			if !has {
				fail("%s: required variable %q has no value", tfvars, name)
				continue
			}
			var diags hcl.Diagnostics
			v, diags = d.Expr.Value(nil)
			failDiags(diags)
		}
		if defaults != nil {
			v = defaults.Apply(v)
		}
		cv, err := convert.Convert(v, ty)
		if err != nil {
			fail("%s: variable %q: %v", tfvars, name, err)
			continue
		}
		vals[name] = cv
	}
	if failures > 0 {
		return cty.NilVal, false
	}
	vars := cty.ObjectVal(vals)
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": vars}, Functions: functions(m.dir)}
	for name, b := range m.variables {
		for _, vb := range b.Body.Blocks {
			if vb.Type != "validation" {
				continue
			}
			ok, diags := vb.Body.Attributes["condition"].Expr.Value(ctx)
			failDiags(diags)
			if !diags.HasErrors() && ok.False() {
				msg, _ := vb.Body.Attributes["error_message"].Expr.Value(ctx)
				fail("%s: variable %q fails its validation: %s", tfvars, name, msg.AsString())
			}
		}
	}
	return vars, failures == 0
}

type evaluator struct {
	m      *module
	ctx    *hcl.EvalContext
	done   map[string]cty.Value
	active map[string]bool
}

// local evaluates local.NAME after the locals it refers to; anything but var, local and
// path.module (a resource, a data source, a module output) is refused: the configurations
// must follow from the variables alone.
func (e *evaluator) local(name string) (cty.Value, bool) {
	if v, ok := e.done[name]; ok {
		return v, true
	}
	a := e.m.locals[name]
	if a == nil || e.active[name] {
		fail("local %q: not declared, or refers to itself", name)
		return cty.NilVal, false
	}
	e.active[name] = true
	for _, t := range a.Expr.Variables() {
		root, attr := rootAttr(t)
		switch {
		case root == "var" || (root == "path" && attr == "module"):
		case root == "local":
			if _, ok := e.local(attr); !ok {
				return cty.NilVal, false
			}
		default:
			fail("%s: local %q depends on %s; a rendered configuration may depend on variables only",
				t.SourceRange().String(), name, root)
			return cty.NilVal, false
		}
	}
	locals := map[string]cty.Value{}
	for k, v := range e.done {
		locals[k] = v
	}
	e.ctx.Variables["local"] = cty.ObjectVal(locals)
	v, diags := a.Expr.Value(e.ctx)
	if diags.HasErrors() {
		failDiags(diags)
		return cty.NilVal, false
	}
	e.done[name] = v
	return v, true
}

func write(path string, v cty.Value) {
	if v.Type() != cty.String {
		fail("%s: rendered value is %s, not a string", path, v.Type().FriendlyName())
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		fail("%v", err)
		return
	}
	if err := os.WriteFile(path, []byte(v.AsString()), 0o644); err != nil {
		fail("%v", err)
	}
}

func render(root *module, tfvars, outdir string, specs []string) {
	vars, ok := rootVariables(root, tfvars)
	if !ok {
		return
	}
	e := &evaluator{m: root, done: map[string]cty.Value{}, active: map[string]bool{},
		ctx: &hcl.EvalContext{Functions: functions(root.dir), Variables: map[string]cty.Value{
			"var":  vars,
			"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(root.dir)}),
		}}}
	for _, spec := range specs {
		name, pattern, found := strings.Cut(spec, "=")
		if !found {
			fail("%s: expected LOCAL=PATTERN", spec)
			continue
		}
		v, ok := e.local(name)
		if !ok {
			continue
		}
		if !strings.Contains(pattern, "%s") {
			write(filepath.Join(outdir, pattern), v)
			continue
		}
		if !v.CanIterateElements() || v.LengthInt() == 0 {
			fail("local %q: expected a non-empty map for %s", name, pattern)
			continue
		}
		for it := v.ElementIterator(); it.Next(); {
			k, item := it.Element()
			write(filepath.Join(outdir, fmt.Sprintf(pattern, k.AsString())), item)
		}
	}
}

func main() {
	if len(os.Args) != 2 && len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: tfcheck ROOT [TFVARS OUTDIR LOCAL=PATTERN...]")
		os.Exit(2)
	}
	rootDir := filepath.Clean(os.Args[1])
	modules := map[string]*module{}
	var dirs []string
	files := 0
	err := filepath.WalkDir(rootDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != rootDir {
			return filepath.SkipDir // .terraform and the like
		}
		switch {
		case d.IsDir():
			if tf, _ := filepath.Glob(filepath.Join(p, "*.tf")); len(tf) > 0 {
				dirs = append(dirs, p)
			}
		case strings.HasSuffix(p, ".tfvars"):
			parseFile(p)
			files++
		case strings.HasSuffix(p, ".tftpl"):
			templateVariables(p)
			files++
		}
		return nil
	})
	if err != nil {
		fail("%v", err)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		modules[d] = loadModule(d)
		tf, _ := filepath.Glob(filepath.Join(d, "*.tf"))
		files += len(tf)
	}
	for _, d := range dirs {
		checkReferences(modules[d])
		checkCalls(modules[d], modules)
	}
	if failures == 0 && len(os.Args) >= 5 {
		if modules[rootDir] == nil {
			fail("%s: no .tf files", rootDir)
		} else {
			render(modules[rootDir], os.Args[2], os.Args[3], os.Args[4:])
		}
	}
	if failures > 0 {
		fmt.Fprintf(os.Stderr, "tfcheck: %d problem(s)\n", failures)
		os.Exit(1)
	}
	fmt.Printf("tfcheck: %d files in %d modules parse, are formatted and consistent\n", files, len(dirs))
}
