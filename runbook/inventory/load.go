package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Options are what a caller tells the inventory about itself.
type Options struct {
	// Transports are the transports the caller connects with beside ssh
	// and local (the CLI adds the lab's). A host that names another is an
	// error, with a suggestion among them. When it is nil, any name is
	// taken and left to whoever connects: for an inventory checked when it
	// was written, as a run's frozen copy.
	Transports []string
}

// Load reads the inventory file at path, in YAML or INI (by extension, else
// by content), with the group_vars/ and host_vars/ directories beside it,
// taking any transport name (see Options).
// The error lists every problem found, one `file:line:col: message` a line.
func Load(path string) (*Inventory, error) { return Options{}.Load(path) }

// Load is the package's Load, with the options o.
func (o Options) Load(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	b := newBuilder(path, o)
	parse(b, path, data)
	b.loadVarFiles(filepath.Dir(path))
	return b.build()
}

// Parse reads an inventory from data; name is used for the format (by
// extension) and in errors. It reads no group_vars/ or host_vars/, and
// takes any transport name (see Options).
func Parse(name string, data []byte) (*Inventory, error) { return Options{}.Parse(name, data) }

// Parse is the package's Parse, with the options o.
func (o Options) Parse(name string, data []byte) (*Inventory, error) {
	b := newBuilder(name, o)
	parse(b, name, data)
	return b.build()
}

func parse(b *builder, name string, data []byte) {
	if isYAML(name, data) {
		parseYAML(b, data)
	} else {
		parseINI(b, data)
	}
}

// yamlFirstLine matches a first line that only YAML would have: a mapping
// key (`all:`, `"web": {...}`) or a flow mapping.
var yamlFirstLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\{|("[^"]*"|'[^']*'|[^\s=#'"\[][^\s=]*?)\s*:(\s|$))`)
})

// isYAML decides the format: .yaml, .yml and .json are YAML; .ini, .cfg
// and .hosts are INI; otherwise YAML when the first line that is not blank,
// a comment or `---` looks like a YAML mapping.
func isYAML(name string, data []byte) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	case ".ini", ".cfg", ".hosts":
		return false
	}
	for line := range strings.SplitSeq(strings.TrimPrefix(string(data), "\ufeff"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") || line == "---" || strings.HasPrefix(line, "%") {
			continue
		}
		return yamlFirstLine().MatchString(line)
	}
	return false
}
