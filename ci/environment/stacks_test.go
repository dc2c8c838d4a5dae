package environment_test

import (
	"reflect"
	"testing"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/stacks"
)

// environment.Stacks checks the section ci/stacks reads: a key added to one and not the
// other would be refused by one command and accepted by the other.
func TestStacksMatchesStacksConfig(t *testing.T) {
	fields := func(v any) map[string]reflect.Type {
		m := map[string]reflect.Type{}
		rt := reflect.TypeOf(v)
		for i := 0; i < rt.NumField(); i++ {
			if tag := rt.Field(i).Tag.Get("yaml"); tag != "" {
				m[tag] = rt.Field(i).Type
			}
		}
		return m
	}
	if got, want := fields(environment.Stacks{}), fields(stacks.Config{}); !reflect.DeepEqual(got, want) {
		t.Errorf("environment.Stacks has %v, stacks.Config %v: keep their yaml keys and types the same", got, want)
	}
}
