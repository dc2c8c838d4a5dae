package main

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestTagChanges(t *testing.T) {
	tests := []struct {
		name        string
		old, new    map[string]string
		wantSet     map[string]string
		wantRemoved []string
	}{
		{"none", nil, nil, map[string]string{}, nil},
		{"add", nil, map[string]string{"a": "1"}, map[string]string{"a": "1"}, nil},
		{"change and keep", map[string]string{"a": "1", "b": "2"}, map[string]string{"a": "9", "b": "2"}, map[string]string{"a": "9"}, nil},
		{"remove sorted", map[string]string{"z": "1", "a": "2", "m": "3"}, map[string]string{"m": "3"}, map[string]string{}, []string{"a", "z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, removed := tagChanges(tc.old, tc.new)
			if !maps.Equal(set, tc.wantSet) || !slices.Equal(removed, tc.wantRemoved) {
				t.Fatalf("tagChanges = %v, %v; want %v, %v", set, removed, tc.wantSet, tc.wantRemoved)
			}
		})
	}
}

func TestTagsToState(t *testing.T) {
	ctx := context.Background()
	null := types.MapNull(types.StringType)
	empty := mustMap(map[string]string{})
	defaults := map[string]string{"Project": "infrapipe"}
	tests := []struct {
		name     string
		defaults map[string]string
		prior    types.Map
		remote   map[string]string
		want     types.Map
	}{
		{"no tags anywhere stays null", nil, null, nil, null},
		{"configured empty map is kept", nil, empty, nil, empty},
		{"tags removed out of band become null", nil, mustMap(map[string]string{"a": "1"}), nil, null},
		{"remote tags win", nil, mustMap(map[string]string{"a": "1"}), map[string]string{"a": "2"}, mustMap(map[string]string{"a": "2"})},
		{"import fills tags", nil, null, map[string]string{"a": "1"}, mustMap(map[string]string{"a": "1"})},
		{"default tags stay out", defaults, null, map[string]string{"Project": "infrapipe", "env": "test"}, mustMap(map[string]string{"env": "test"})},
		{"a default tag changed out of band shows", defaults, null, map[string]string{"Project": "other"}, mustMap(map[string]string{"Project": "other"})},
		{"a resource tag equal to a default stays", defaults, mustMap(map[string]string{"Project": "infrapipe"}),
			map[string]string{"Project": "infrapipe"}, mustMap(map[string]string{"Project": "infrapipe"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := configured{c: &clients{defaultTags: tc.defaults}}
			got, diags := r.tagsToState(ctx, tc.prior, tc.remote)
			if diags.HasError() || !got.Equal(tc.want) {
				t.Fatalf("tagsToState = %v (%v), want %v", got, diags, tc.want)
			}
		})
	}
}

func TestNoRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	_, err := providerModel{}.clients(context.Background())
	if err == nil || err.Error() != "no region: set region in the provider block or AWS_REGION" {
		t.Fatalf("clients without a region: %v", err)
	}
}

func mustMap(m map[string]string) types.Map {
	elems := map[string]attr.Value{}
	for k, v := range m {
		elems[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, elems)
}
