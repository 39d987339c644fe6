package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"
)

// labelRequirement is one term of a label selector.
type labelRequirement struct {
	key, op string // op: = != exists !exists in notin
	values  []string
}

type labelSelector []labelRequirement

// parseLabelSelector reads "a=b,c!=d,e,!f,g in (x,y)".
func parseLabelSelector(s string) (labelSelector, error) {
	var sel labelSelector
	s = strings.TrimSpace(s)
	for s != "" {
		// split on the next comma outside parentheses
		depth, end := 0, len(s)
		for i := 0; i < len(s); i++ {
			if s[i] == '(' {
				depth++
			} else if s[i] == ')' {
				depth--
			} else if s[i] == ',' && depth == 0 {
				end = i
				break
			}
		}
		term := strings.TrimSpace(s[:end])
		s = strings.TrimSpace(strings.TrimPrefix(s[end:], ","))
		var r labelRequirement
		switch {
		case strings.Contains(term, " notin "):
			k, v, _ := strings.Cut(term, " notin ")
			r = labelRequirement{key: strings.TrimSpace(k), op: "notin", values: setValues(v)}
		case strings.Contains(term, " in "):
			k, v, _ := strings.Cut(term, " in ")
			r = labelRequirement{key: strings.TrimSpace(k), op: "in", values: setValues(v)}
		case strings.Contains(term, "!="):
			k, v, _ := strings.Cut(term, "!=")
			r = labelRequirement{key: k, op: "!=", values: []string{v}}
		case strings.Contains(term, "=="):
			k, v, _ := strings.Cut(term, "==")
			r = labelRequirement{key: k, op: "=", values: []string{v}}
		case strings.Contains(term, "="):
			k, v, _ := strings.Cut(term, "=")
			r = labelRequirement{key: k, op: "=", values: []string{v}}
		case strings.HasPrefix(term, "!"):
			r = labelRequirement{key: term[1:], op: "!exists"}
		default:
			r = labelRequirement{key: term, op: "exists"}
		}
		if r.key == "" {
			return nil, fmt.Errorf("unable to parse requirement: invalid label key %q", term)
		}
		sel = append(sel, r)
	}
	return sel, nil
}

func setValues(v string) []string {
	v = strings.Trim(strings.TrimSpace(v), "()")
	var out []string
	for _, x := range strings.Split(v, ",") {
		out = append(out, strings.TrimSpace(x))
	}
	return out
}

// matches tests an object's metadata.labels.
func (sel labelSelector) matches(obj map[string]any) bool {
	md, _ := obj["metadata"].(map[string]any)
	labels, _ := md["labels"].(map[string]any)
	for _, r := range sel {
		v, has := labels[r.key]
		s, _ := v.(string)
		switch r.op {
		case "=":
			if !has || s != r.values[0] {
				return false
			}
		case "!=":
			if has && s == r.values[0] {
				return false
			}
		case "exists":
			if !has {
				return false
			}
		case "!exists":
			if has {
				return false
			}
		case "in":
			if !has || !contains(r.values, s) {
				return false
			}
		case "notin":
			if has && contains(r.values, s) {
				return false
			}
		}
	}
	return true
}

// fieldSelector is a parsed --field-selector.
type fieldSelector []labelRequirement

func parseFieldSelector(s string) (fieldSelector, error) {
	var sel fieldSelector
	for _, term := range strings.Split(s, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		op := "="
		k, v, ok := strings.Cut(term, "!=")
		if ok {
			op = "!="
		} else if k, v, ok = strings.Cut(term, "=="); !ok {
			if k, v, ok = strings.Cut(term, "="); !ok {
				return nil, fmt.Errorf("invalid selector: '%s'; can't understand '%s'", s, term)
			}
		}
		sel = append(sel, labelRequirement{key: strings.TrimSpace(k), op: op, values: []string{strings.TrimSpace(v)}})
	}
	return sel, nil
}

// nodeName returns the node of a spec.nodeName= term.
func (sel fieldSelector) nodeName() (string, bool) {
	for _, r := range sel {
		if r.key == "spec.nodeName" && r.op == "=" {
			return r.values[0], true
		}
	}
	return "", false
}

func (sel fieldSelector) match(get func(string) (string, bool)) bool {
	for _, r := range sel {
		v, known := get(r.key)
		if !known {
			return false
		}
		if (r.op == "=") != (v == r.values[0]) {
			return false
		}
	}
	return true
}

func (sel fieldSelector) matchesPod(p *pod) bool {
	return sel.match(func(k string) (string, bool) {
		switch k {
		case "metadata.name":
			return p.Name, true
		case "metadata.namespace":
			return p.Namespace, true
		case "spec.nodeName":
			return p.NodeName, true
		case "status.phase":
			return p.Status.Phase, true
		case "spec.restartPolicy":
			return "Always", true
		case "spec.schedulerName":
			return "default-scheduler", true
		case "status.podIP":
			return p.Status.PodIP, true
		}
		return "", false
	})
}

func (sel fieldSelector) matchesNode(n *nodeState) bool {
	return sel.match(func(k string) (string, bool) {
		switch k {
		case "metadata.name":
			return n.Name, true
		case "spec.unschedulable":
			return fmt.Sprint(n.Node.Unschedulable), true
		}
		return "", false
	})
}

// printObjects prints the objects in the requested output format.
func (p *pctx) printObjects(kind, output string, objects []map[string]any, header []string, table [][]string, single bool, cl *cmdline) error {
	var doc any
	if single {
		doc = objects[0]
	} else {
		items := make([]any, len(objects))
		for i, o := range objects {
			items[i] = o
		}
		doc = map[string]any{"apiVersion": "v1", "kind": "List", "items": items, "metadata": map[string]any{"resourceVersion": ""}}
	}
	switch {
	case output == "" || output == "wide":
		if len(table) == 0 {
			return nil
		}
		tw := tabwriter.NewWriter(p.out, 6, 4, 3, ' ', 0)
		if !cl.has("no-headers") {
			fmt.Fprintln(tw, strings.Join(header, "\t"))
		}
		for _, row := range table {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		return tw.Flush()
	case output == "json":
		data, err := json.MarshalIndent(doc, "", "    ")
		if err != nil {
			return err
		}
		p.printf("%s\n", data)
	case output == "yaml":
		var generic any
		data, _ := json.Marshal(doc)
		if err := json.Unmarshal(data, &generic); err != nil {
			return err
		}
		out, err := yaml.Marshal(generic)
		if err != nil {
			return err
		}
		p.printf("%s", out)
	case output == "name":
		singular := strings.TrimSuffix(kind, "s")
		if kind == "namespaces" {
			singular = "namespace"
		}
		for _, o := range objects {
			md, _ := o["metadata"].(map[string]any)
			p.printf("%s/%s\n", singular, md["name"])
		}
	case strings.HasPrefix(output, "jsonpath=") || strings.HasPrefix(output, "jsonpath-as-json="):
		tmpl := output[strings.IndexByte(output, '=')+1:]
		tmpl = strings.Trim(tmpl, "'")
		if !strings.Contains(tmpl, "{") {
			tmpl = "{" + tmpl + "}"
		}
		nodes, err := parseJSONPath(tmpl)
		if err != nil {
			return fmt.Errorf("error parsing jsonpath %s, %v", tmpl, err)
		}
		var generic any
		data, _ := json.Marshal(doc)
		json.Unmarshal(data, &generic)
		s, err := execJSONPath(nodes, generic)
		if err != nil {
			return fmt.Errorf("error executing jsonpath %q: %v", tmpl, err)
		}
		p.printf("%s", s)
	case strings.HasPrefix(output, "custom-columns="):
		spec := strings.TrimPrefix(output, "custom-columns=")
		var names []string
		var exprs [][]jpNode
		for _, col := range strings.Split(spec, ",") {
			name, expr, ok := strings.Cut(col, ":")
			if !ok {
				return fmt.Errorf("unexpected custom-columns spec: %s, expected <header>:<json-path-expr>", col)
			}
			nodes, err := parseJSONPath("{" + expr + "}")
			if err != nil {
				return err
			}
			names = append(names, name)
			exprs = append(exprs, nodes)
		}
		tw := tabwriter.NewWriter(p.out, 6, 4, 3, ' ', 0)
		if !cl.has("no-headers") {
			fmt.Fprintln(tw, strings.Join(names, "\t"))
		}
		for _, o := range objects {
			var generic any
			data, _ := json.Marshal(o)
			json.Unmarshal(data, &generic)
			var cells []string
			for _, e := range exprs {
				s, err := execJSONPath(e, generic)
				if err != nil || s == "" {
					s = "<none>"
				}
				cells = append(cells, s)
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		return tw.Flush()
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: custom-columns,json,jsonpath,name,wide,yaml", output)
	}
	return nil
}
