package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
	"github.com/runbookhq/runbook/runbook/journal"
)

// Files of a run directory besides the journal.
const (
	FrozenRunbookDir = "runbook"
	FrozenInventory  = "inventory.yaml"
)

// RunbookDigest is the sha256 of the runbook and every module it uses, so
// that a change to either is noticed on resume.
func RunbookDigest(rb *runbook.Runbook) string {
	h := sha256.New()
	h.Write(rb.Source)
	names := make([]string, 0, len(rb.Modules))
	for n := range rb.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "\x00%s\x00", n)
		h.Write(rb.Modules[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// freeze copies the runbook (with its modules) and the resolved inventory
// into the run directory, so that the run can be resumed and audited as it
// was.
func freeze(dir string, rb *runbook.Runbook, inv *inventory.Inventory, targets []string) error {
	rbDir := filepath.Join(dir, FrozenRunbookDir)
	if err := os.MkdirAll(rbDir, 0o700); err != nil {
		return err
	}
	if err := journal.WriteFileSync(filepath.Join(rbDir, filepath.Base(rb.File)), rb.Source); err != nil {
		return fmt.Errorf("freeze runbook: %w", err)
	}
	for rel, data := range rb.Modules {
		if !filepath.IsLocal(rel) {
			continue // a module outside the runbook's directory is not frozen
		}
		p := filepath.Join(rbDir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := journal.WriteFileSync(p, data); err != nil {
			return fmt.Errorf("freeze module: %w", err)
		}
	}
	data, err := frozenInventory(inv)
	if err != nil {
		return err
	}
	return journal.WriteFileSync(filepath.Join(dir, FrozenInventory), data)
}

// frozenInventory writes the resolved inventory in the YAML inventory
// format: every host with its resolved vars, every group with its hosts.
//
// A host whose vars are strings, numbers, booleans, nulls and maps and
// lists of them, as inventories hold, is written on one line as JSON, which
// YAML reads as a flow mapping (appendFlowHost): a tenth of the CPU and the
// memory of yaml.v3's emitter. Any other host is encoded on its own by
// yaml.v3 and indented into place: yaml.v3's
// emitter keeps every event of a document until the document ends, so one
// document of the whole fleet costs memory in proportion to it
// (BenchmarkFrozenInventory measures both). Indenting a block-style YAML
// mapping keeps its meaning: block scalars' indentation is relative to
// their parent's.
func frozenInventory(inv *inventory.Inventory) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# The inventory of this run as it was resolved (group and host vars merged).\nall:\n  hosts:")
	if len(inv.Hosts) == 0 {
		b.WriteString(" {}")
	}
	b.WriteByte('\n')
	groups := map[string][]string{}
	var groupOrder []string
	for _, h := range inv.Hosts {
		vars := map[string]any{}
		for k, v := range h.Vars {
			vars[k] = v
		}
		set := func(k string, v any, empty bool) {
			if !empty {
				vars[k] = v
			}
		}
		set("address", h.Address, h.Address == "")
		set("port", h.Port, h.Port == 0)
		set("user", h.User, h.User == "")
		set("identity_file", h.IdentityFile, h.IdentityFile == "")
		set("proxy_jump", h.ProxyJump, h.ProxyJump == "")
		set("transport", h.Transport, h.Transport == "")
		if !appendFlowHost(&b, h.Name, vars) {
			v, err := varNode(vars)
			if err != nil {
				return nil, err
			}
			entry := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: h.Name}, v}}
			if err := encodeIndented(&b, entry, "    "); err != nil {
				return nil, err
			}
		}
		for _, g := range h.Groups {
			if g == "all" || g == "ungrouped" {
				continue
			}
			if _, ok := groups[g]; !ok {
				groupOrder = append(groupOrder, g)
			}
			groups[g] = append(groups[g], h.Name)
		}
	}
	if len(groupOrder) > 0 {
		b.WriteString("  children:\n")
	}
	for _, g := range groupOrder {
		gh := &yaml.Node{Kind: yaml.MappingNode}
		for _, h := range groups[g] {
			gh.Content = append(gh.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: h}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""})
		}
		entry := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: g},
			{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "hosts"}, gh}}}}
		if err := encodeIndented(&b, entry, "    "); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// appendFlowHost appends the line `    "NAME": {...}` to b, the host's vars
// as JSON, which YAML reads as the same values, and reports whether it did.
// It declines, writing nothing, when a value is of another type or a string
// holds what JSON would change or leave unescaped but YAML cannot read:
// invalid UTF-8, DEL, C1 controls, a byte-order mark, U+FFFE and U+FFFF.
func appendFlowHost(b *bytes.Buffer, name string, vars map[string]any) bool {
	if !flowSafe(name) || !flowSafe(vars) {
		return false
	}
	start := b.Len()
	b.WriteString("    ")
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if enc.Encode(name) != nil {
		b.Truncate(start)
		return false
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	b.WriteString(": ")
	if enc.Encode(vars) != nil {
		b.Truncate(start)
		return false
	}
	return true
}

// flowSafe reports whether v reads back the same from its JSON in YAML: see
// appendFlowHost. A float is left to the YAML encoder when JSON would write
// it without a point or an exponent (1.0 as 1, 1e20 in full), which YAML
// reads as an int.
func flowSafe(v any) bool {
	switch v := v.(type) {
	case nil, bool, int, int64:
		return true
	case float64:
		s, err := json.Marshal(v)
		return err == nil && bytes.ContainsAny(s, ".e")
	case string:
		if !utf8.ValidString(v) {
			return false
		}
		for _, r := range v {
			if r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0xfeff || r == 0xfffe || r == 0xffff {
				return false
			}
		}
		return true
	case map[string]any:
		for k, e := range v {
			if !flowSafe(k) || !flowSafe(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range v {
			if !flowSafe(e) {
				return false
			}
		}
		return true
	}
	return false
}

// encodeIndented appends n, encoded as a YAML document of its own with an
// indent of two, to b with every line but an empty one indented by indent.
func encodeIndented(b *bytes.Buffer, n *yaml.Node, indent string) error {
	var part bytes.Buffer
	enc := yaml.NewEncoder(&part)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	for line := range bytes.Lines(part.Bytes()) {
		if len(line) > 1 {
			b.WriteString(indent)
		}
		b.Write(line)
	}
	return nil
}

// varNode is v as a YAML node. Strings, numbers, booleans, null and maps
// and lists of them, what inventories hold, are built directly (the
// encoder quotes a string that would read back as another type); anything
// else goes through yaml's encoder, which marshals and parses it back and
// costs a thousand hosts' inventory tens of milliseconds.
func varNode(v any) (*yaml.Node, error) {
	scalar := func(tag, value string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value} }
	switch v := v.(type) {
	case nil:
		return scalar("!!null", "null"), nil
	case string:
		return strNode(v, false), nil
	case bool:
		return scalar("!!bool", strconv.FormatBool(v)), nil
	case int:
		return scalar("!!int", strconv.Itoa(v)), nil
	case int64:
		return scalar("!!int", strconv.FormatInt(v, 10)), nil
	case float64:
		// The tag stays when the text reads as another type: 1.0 is
		// written !!float 1, which yaml.v3's own encoder writes as 1, an int.
		switch {
		case math.IsInf(v, 1):
			return scalar("!!float", ".inf"), nil
		case math.IsInf(v, -1):
			return scalar("!!float", "-.inf"), nil
		case math.IsNaN(v):
			return scalar("!!float", ".nan"), nil
		}
		return scalar("!!float", strconv.FormatFloat(v, 'g', -1, 64)), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n := &yaml.Node{Kind: yaml.MappingNode, Content: make([]*yaml.Node, 0, 2*len(keys))}
		for _, k := range keys {
			val, err := varNode(v[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, strNode(k, true), val)
		}
		return n, nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Content: make([]*yaml.Node, 0, len(v))}
		for _, e := range v {
			val, err := varNode(e)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, val)
		}
		return n, nil
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return &n, nil
}

// strNode is s as a YAML string, a map key when key is set. A key with a
// control character in it, or a string of nothing but white space with a
// line break or another control character in it, is written double-quoted:
// yaml.v3 writes them as block scalars that read back as something else (a
// key "\n" read back as ""). Other text with line breaks stays a block
// scalar, which reads as written.
func strNode(s string, key bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.ContainsFunc(s, unicode.IsControl) && (key || strings.TrimSpace(s) == "") {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
