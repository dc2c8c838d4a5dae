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
	empty := types.MapValueMust(types.StringType, nil)
	tests := []struct {
		name   string
		prior  types.Map
		remote map[string]string
		want   types.Map
	}{
		{"no tags anywhere stays null", types.MapNull(types.StringType), nil, types.MapNull(types.StringType)},
		{"configured empty map is kept", empty, nil, empty},
		{"tags removed out of band become null", mustMap(map[string]string{"a": "1"}), nil, types.MapNull(types.StringType)},
		{"remote tags win", mustMap(map[string]string{"a": "1"}), map[string]string{"a": "2"}, mustMap(map[string]string{"a": "2"})},
		{"import fills tags", types.MapNull(types.StringType), map[string]string{"a": "1"}, mustMap(map[string]string{"a": "1"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, diags := tagsToState(ctx, tc.prior, tc.remote)
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
