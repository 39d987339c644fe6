package report

import (
	"reflect"
	"strings"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// Journal text comes from remote hosts and runbooks: before it reaches a
// terminal, control characters (escape sequences above all) are removed, so
// that no host can move the cursor, retitle the window or hide a line.

// cleanText removes control characters from s, keeping line breaks; a tab
// becomes a space.
func cleanText(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r != '\n' && isControl(r) }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case isControl(r):
			return -1
		}
		return r
	}, s)
}

// cleanRecord cleans, in place, the text fields of r that a terminal shows.
func cleanRecord(r *journal.Record) {
	for _, f := range []*string{&r.RunID, &r.Runbook, &r.Operator, &r.Controller, &r.Phase, &r.PhaseKind, &r.Host,
		&r.StepID, &r.Step, &r.DelegateTo, &r.Status, &r.Error, &r.Stderr, &r.Outcome, &r.FailedStep, &r.Text,
		&r.Prompt, &r.Decision, &r.By, &r.Via, &r.Reason, &r.RunbookFile, &r.Inventory, &r.Limit, &r.Diff} {
		*f = cleanText(*f)
	}
	if len(r.Hosts) > 0 {
		hosts := make([]string, len(r.Hosts))
		for i, h := range r.Hosts {
			hosts[i] = cleanText(h)
		}
		r.Hosts = hosts
	}
}

// cleanSummary returns s with every string cleaned: s itself when no
// string needed it (the summary is only read), else a copy that shares
// with s only the parts that did not change.
func cleanSummary(s *Summary) *Summary {
	c, changed := cleanValue(reflect.ValueOf(s).Elem())
	if !changed {
		return s
	}
	sum := c.Interface().(Summary)
	return &sum
}

var timeType = reflect.TypeOf(time.Time{})

// cleanValue returns v with every string in it cleaned, and whether any
// was: a value is copied only on the way to a string that changed, so
// that the summary of a clean run is not copied at all.
func cleanValue(v reflect.Value) (reflect.Value, bool) {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if c := cleanText(s); c != s {
			return reflect.ValueOf(c).Convert(v.Type()), true
		}
	case reflect.Struct:
		if v.Type() == timeType {
			return v, false
		}
		var c reflect.Value
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			f, changed := cleanValue(v.Field(i))
			if !changed {
				continue
			}
			if !c.IsValid() {
				c = reflect.New(v.Type()).Elem()
				c.Set(v)
			}
			c.Field(i).Set(f)
		}
		if c.IsValid() {
			return c, true
		}
	case reflect.Slice:
		var c reflect.Value
		for i := 0; i < v.Len(); i++ {
			e, changed := cleanValue(v.Index(i))
			if !changed {
				continue
			}
			if !c.IsValid() {
				c = reflect.MakeSlice(v.Type(), v.Len(), v.Len())
				reflect.Copy(c, v)
			}
			c.Index(i).Set(e)
		}
		if c.IsValid() {
			return c, true
		}
	case reflect.Map:
		var c reflect.Value
		iter := v.MapRange()
		for iter.Next() {
			k, kc := cleanValue(iter.Key())
			e, ec := cleanValue(iter.Value())
			if !kc && !ec {
				continue
			}
			if !c.IsValid() {
				c = reflect.MakeMapWithSize(v.Type(), v.Len())
				all := v.MapRange()
				for all.Next() {
					c.SetMapIndex(all.Key(), all.Value())
				}
			}
			c.SetMapIndex(iter.Key(), reflect.Value{}) // the key may be cleaned into another
			c.SetMapIndex(k, e)
		}
		if c.IsValid() {
			return c, true
		}
	case reflect.Pointer:
		if v.IsNil() {
			return v, false
		}
		if e, changed := cleanValue(v.Elem()); changed {
			c := reflect.New(v.Type().Elem())
			c.Elem().Set(e)
			return c, true
		}
	case reflect.Interface:
		if v.IsNil() {
			return v, false
		}
		if e, changed := cleanValue(v.Elem()); changed {
			c := reflect.New(v.Type()).Elem()
			c.Set(e)
			return c, true
		}
	}
	return v, false
}
