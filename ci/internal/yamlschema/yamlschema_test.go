package yamlschema

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type inner struct {
	Name  string   `yaml:"name"`
	Count int      `yaml:"count"`
	Tags  []string `yaml:"tags"`
}

type doc struct {
	Inner  *inner              `yaml:"inner"`
	ByName map[string]inner    `yaml:"by_name"`
	Flags  map[string]bool     `yaml:"flags"`
	Lists  map[string][]string `yaml:"lists"`
}

func TestDecode(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		at         string
		want       string // "" for no error
	}{
		{"valid", "inner: {name: a, count: 2, tags: [x]}\nby_name: {a: {name: b}}\n", "", ""},
		{"unknown key", "inner: {nam: a}\n", "", "inner.nam: unknown key: valid keys are name, count, tags"},
		{"unknown key under a path", "inner: {nam: a}\n", "stacks", "stacks.inner.nam: unknown key"},
		{"struct key twice", "inner: {name: a, name: b}\n", "", "inner.name: key appears twice"},
		{"map key twice", "by_name:\n  a: {}\n  a: {}\n", "", "by_name.a: key appears twice"},
		{"empty value", "inner:\n  name:\n", "", "inner.name: empty value"},
		{"alias", "inner: &i {name: a}\nby_name: {b: *i}\n", "", "by_name.b: YAML aliases are not supported"},
		{"wrong scalar", "inner: {count: many}\n", "", `inner.count: "many" is not a whole number: write one such as 3`},
		{"scalar for a list", "inner: {tags: x}\n", "", `inner.tags: want a list, got "x"`},
		{"list item", "lists: {a: [x, [y]]}\n", "", "lists.a[1]: want a string, got a list"},
		{"mapping for a bool", "flags: {a: {b: c}}\n", "", "flags.a: want true or false, got a mapping"},
		{"list at the top", "- a\n", "", "top level: want a mapping of keys (inner, by_name, flags, lists), got a list"},
		{"list at a path", "- a\n", "stacks", "stacks: want a mapping of keys"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var root yaml.Node
			if err := yaml.Unmarshal([]byte(tt.yaml), &root); err != nil {
				t.Fatal(err)
			}
			var d doc
			err := Decode(root.Content[0], tt.at, &d)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDecodeKeepsWhatTheNodeDoesNotSet(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte("name: a\n"), &root); err != nil {
		t.Fatal(err)
	}
	v := inner{Count: 7}
	if err := Decode(root.Content[0], "", &v); err != nil {
		t.Fatal(err)
	}
	if v.Name != "a" || v.Count != 7 {
		t.Errorf("decoded %+v, want name a and count 7 kept", v)
	}
}

func TestDecodeWantsAPointer(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte("name: a\n"), &root); err != nil {
		t.Fatal(err)
	}
	if err := Decode(root.Content[0], "", inner{}); err == nil || !strings.Contains(err.Error(), "want a pointer") {
		t.Errorf("err = %v, want a pointer error", err)
	}
}

type scalars struct {
	On    bool          `yaml:"on_"`
	Count int           `yaml:"count"`
	Ratio float64       `yaml:"ratio"`
	Wait  time.Duration `yaml:"wait"`
	Name  string        `yaml:"name"`
}

// yaml.v3 decodes the YAML 1.1 words yes/no/on/off (and their quoted forms) into a bool and
// truncates a float into an int; a field takes only its own YAML type.
func TestDecodeScalarTypes(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		want       string // "" for no error
	}{
		{"bool", "on_: true", ""},
		{"bool capitalised", "on_: False", ""},
		{"quoted yes", `on_: "yes"`, `on_: "yes" is not a boolean: write true or false`},
		{"plain yes", "on_: yes", `on_: "yes" is not a boolean: write true or false`},
		{"plain on", "on_: on", `on_: "on" is not a boolean`},
		{"plain off", "on_: off", `on_: "off" is not a boolean`},
		{"single n", "on_: n", `on_: "n" is not a boolean`},
		{"quoted true", `on_: "true"`, `on_: "true" is not a boolean: write true or false, without quotes`},
		{"a number for a bool", "on_: 1", `on_: "1" is not a boolean`},
		{"int", "count: 3", ""},
		{"hex int", "count: 0x10", ""},
		{"quoted int", `count: "5"`, `count: "5" is not a whole number: write one such as 3, without quotes`},
		{"float for an int", "count: 2.5", `count: "2.5" is not a whole number`},
		{"whole float for an int", "count: 2.0", `count: "2.0" is not a whole number`},
		{"exponent for an int", "count: 1e3", `count: "1e3" is not a whole number`},
		{"float", "ratio: 2.5", ""},
		{"int for a float", "ratio: 100", ""},
		{"quoted float", `ratio: '2.5'`, `ratio: "2.5" is not a number: write one such as 100 or 2.5, without quotes`},
		{"text for a float", "ratio: lots", `ratio: "lots" is not a number: write one such as 100 or 2.5`},
		{"duration", "wait: 5m", ""},
		{"quoted duration", `wait: "90s"`, ""},
		{"int for a duration", "wait: 5", `wait: "5" is not a duration`},
		{"string takes a number", "name: 5", ""},
		{"string takes yes", "name: yes", ""},
		{"string takes a date", "name: 2026-12-31", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var root yaml.Node
			if err := yaml.Unmarshal([]byte(tt.yaml), &root); err != nil {
				t.Fatal(err)
			}
			var v scalars
			err := Decode(root.Content[0], "", &v)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
