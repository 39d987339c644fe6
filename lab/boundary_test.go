package lab

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The lab lives beside the product: no package under runbook/ or steps/
// imports it, directly or through another package of the module, in its
// code or its tests, and none names the lab's inventory variables or its
// transport. The inventory carries them like any variable; cmd/runbook wires
// the lab in.

const module = "github.com/runbookhq/runbook"

// productDirs are the folders of the product that must not know the lab.
var productDirs = []string{"runbook", "steps"}

func TestProductKnowsNoLab(t *testing.T) {
	root := filepath.Join("..")
	pkgs := productPackages(t, root)
	if len(pkgs) < 5 {
		t.Fatalf("found only %d product packages under %v", len(pkgs), productDirs)
	}
	for _, pkg := range pkgs {
		if path := importsLab(t, root, pkg, map[string]bool{}); path != "" {
			t.Errorf("%s imports the lab (%s)", pkg.ImportPath, path)
		}
		for _, f := range packageFiles(pkg) {
			for _, hit := range labNames(t, filepath.Join(pkg.Dir, f)) {
				t.Errorf("%s", hit)
			}
		}
	}
}

// The checks find what they look for.
func TestProductBoundaryChecksCanFail(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.go")
	src := "package x\n\nvar a = \"lab_faults\"\nvar b = h.Vars[\"lab_role\"]\nvar c = `all:\n  vars: {transport: lab}`\n" +
		"var d = \"lab\"\nvar e = \"label lab.yaml laboratory\"\nvar f = \"lab: containers\"\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	hits := labNames(t, file)
	var lines []int
	for _, h := range hits {
		n, _ := strconv.Atoi(strings.Split(h, ":")[1])
		lines = append(lines, n)
	}
	if !slices.Equal(lines, []int{3, 4, 5, 7, 9}) {
		t.Errorf("hits on lines %v, want 3, 4, 5, 7 and 9:\n%s", lines, strings.Join(hits, "\n"))
	}

	pkg := &build.Package{ImportPath: "x", Imports: []string{"fmt", module + "/steps"}, TestImports: []string{module + "/lab/sim"}}
	if got := importsLab(t, "..", pkg, map[string]bool{}); got != module+"/lab/sim" {
		t.Errorf("importsLab found %q", got)
	}
}

// productPackages are the Go packages under productDirs.
func productPackages(t *testing.T, root string) []*build.Package {
	t.Helper()
	var pkgs []*build.Package
	for _, d := range productDirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, e os.DirEntry, err error) error {
			if err != nil || !e.IsDir() {
				return err
			}
			if e.Name() == "testdata" {
				return filepath.SkipDir
			}
			pkg, err := build.ImportDir(path, 0)
			if _, none := err.(*build.NoGoError); none {
				return nil
			}
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			pkg.ImportPath = module + "/" + filepath.ToSlash(rel)
			pkgs = append(pkgs, pkg)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return pkgs
}

// importsLab returns a package of the lab that pkg imports, through any
// chain of the module's packages, or "".
func importsLab(t *testing.T, root string, pkg *build.Package, seen map[string]bool) string {
	t.Helper()
	for _, imp := range slices.Concat(pkg.Imports, pkg.TestImports, pkg.XTestImports) {
		if imp == module+"/lab" || strings.HasPrefix(imp, module+"/lab/") {
			return imp
		}
		if !strings.HasPrefix(imp, module+"/") || seen[imp] {
			continue
		}
		seen[imp] = true
		dep, err := build.ImportDir(filepath.Join(root, strings.TrimPrefix(imp, module+"/")), 0)
		if err != nil {
			t.Fatalf("%s: %v", imp, err)
		}
		dep.ImportPath = imp
		dep.TestImports, dep.XTestImports = nil, nil // only its code is linked in
		if found := importsLab(t, root, dep, seen); found != "" {
			return found
		}
	}
	return ""
}

func packageFiles(pkg *build.Package) []string {
	return slices.Concat(pkg.GoFiles, pkg.CgoFiles, pkg.TestGoFiles, pkg.XTestGoFiles, pkg.IgnoredGoFiles)
}

// labNamePatterns match a string that names a lab variable or the lab's
// transport: a lab_ variable anywhere, "lab" alone, or as a key or a
// transport's value in inventory text.
func labNamePatterns() []*regexp.Regexp {
	var res []*regexp.Regexp
	for _, v := range Vars {
		res = append(res, regexp.MustCompile(`\b`+regexp.QuoteMeta(v)+`\b`))
	}
	return append(res,
		regexp.MustCompile(`^`+Transport+`$`),
		regexp.MustCompile(`(?m)(^|[\s{,])`+Transport+`\s*[:=]`),
		regexp.MustCompile(`\b(transport|ansible_connection)\s*[:=]\s*["']?`+Transport+`\b`))
}

// labNames returns, as file:line: text, the string literals of a Go file
// that name a lab variable or the lab's transport.
func labNames(t *testing.T, file string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	patterns := labNamePatterns()
	var hits []string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		for _, re := range patterns {
			if re.MatchString(s) {
				p := fset.Position(lit.Pos())
				hits = append(hits, p.Filename+":"+strconv.Itoa(p.Line)+": names the lab: "+lit.Value)
				break
			}
		}
		return true
	})
	return hits
}
