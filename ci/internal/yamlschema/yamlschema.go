// Package yamlschema checks a YAML document against the Go type it decodes into, before
// decoding: an error names the key's dotted path (environments.prod.protected_types,
// stacks.include[0]) and what is valid there, where yaml.v3's own errors name a Go type
// and a line. It also refuses what yaml.v3 accepts quietly: an empty value, which would
// keep the default its writer meant to change, a key written twice, and a scalar of
// another YAML type than the field's ("yes" for a bool, 2.5 for a whole number).
package yamlschema

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Decode checks n against v's type and decodes it into v, a pointer. at is n's dotted path
// in the document, "" for the document itself; fields of v that n does not set keep
// their values.
func Decode(n *yaml.Node, at string, v any) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return fmt.Errorf("yamlschema.Decode: want a pointer, got %T", v)
	}
	if err := check(n, t.Elem(), at); err != nil {
		return err
	}
	if err := n.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", orRoot(at), err)
	}
	return nil
}

// check walks the YAML tree against the Go type it will decode into and reports the first
// unknown key, repeated key, empty value or wrongly typed value with its dotted path and
// what is valid there.
func check(n *yaml.Node, t reflect.Type, at string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		return fmt.Errorf("%s: YAML aliases are not supported: write the value out", orRoot(at))
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		// "protected_types:" with nothing after it would keep the default, which is
		// rarely what its writer meant.
		return fmt.Errorf("%s: empty value: give one, or remove the key to keep the default (an empty list is [])", orRoot(at))
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: want a mapping of keys (%s), got %s", orRoot(at), strings.Join(yamlKeys(t), ", "), describe(n))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fieldByTag(t, k.Value)
			if !ok || k.Kind != yaml.ScalarNode {
				return fmt.Errorf("%s: unknown key: valid keys are %s", join(at, k.Value), strings.Join(yamlKeys(t), ", "))
			}
			if seen[k.Value] {
				return fmt.Errorf("%s: key appears twice", join(at, k.Value))
			}
			seen[k.Value] = true
			if err := check(v, f.Type, join(at, k.Value)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: want a mapping, got %s", orRoot(at), describe(n))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("%s: keys must be plain names", orRoot(at))
			}
			if seen[k.Value] {
				return fmt.Errorf("%s: key appears twice", join(at, k.Value))
			}
			seen[k.Value] = true
			if err := check(n.Content[i+1], t.Elem(), join(at, k.Value)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: want a list, got %s", orRoot(at), describe(n))
		}
		for i, e := range n.Content {
			if err := check(e, t.Elem(), fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	default:
		if n.Kind != yaml.ScalarNode {
			return fmt.Errorf("%s: want %s, got %s", orRoot(at), kindName(t), describe(n))
		}
		return checkScalar(n, t, at)
	}
	return nil
}

var durationType = reflect.TypeOf(time.Duration(0))

// checkScalar refuses a scalar whose YAML type is not the field's. yaml.v3 is lenient
// where YAML 1.2 is not: into a bool it reads "yes", "on" and "n", quoted or not (all
// strings in YAML 1.2), and into an int it truncates 2.5 to 2; either would pass a value
// its writer did not mean. A string field takes any scalar, as written.
func checkScalar(n *yaml.Node, t reflect.Type, at string) error {
	tags, what, write := scalarKind(t)
	if (tags == nil || slices.Contains(tags, n.ShortTag())) && n.Decode(reflect.New(t).Interface()) == nil {
		return nil
	}
	// "true" and "5" are strings because of their quotes: say so, or the message would
	// seem to refuse the very value it asks for.
	plain := yaml.Node{Kind: yaml.ScalarNode, Value: n.Value}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 && slices.Contains(tags, plain.ShortTag()) {
		write += ", without quotes"
	}
	return fmt.Errorf("%s: %q is not %s: write %s", orRoot(at), n.Value, what, write)
}

// scalarKind is what a field of type t takes: the YAML tags it accepts (nil: any, as
// yaml.v3 decodes it), what it is and how to write one, for errors.
func scalarKind(t reflect.Type) (tags []string, what, write string) {
	switch t.Kind() {
	case reflect.Bool:
		return []string{"!!bool"}, "a boolean", "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if t == durationType {
			return nil, "a duration", `one such as "5m"`
		}
		return []string{"!!int"}, "a whole number", "one such as 3"
	case reflect.Float32, reflect.Float64:
		return []string{"!!int", "!!float"}, "a number", "one such as 100 or 2.5"
	default:
		return nil, "a string", "text"
	}
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" {
			keys = append(keys, name)
		}
	}
	return keys
}

// kindName is what a field takes, for "want ..., got a list".
func kindName(t reflect.Type) string {
	_, what, write := scalarKind(t)
	if t.Kind() == reflect.Bool {
		return write // "want true or false" says more than "want a boolean"
	}
	return what
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

func orRoot(at string) string {
	if at == "" {
		return "top level"
	}
	return at
}
