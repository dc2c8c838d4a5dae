package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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

// recordingTagger is a keyTagger over a map that records the calls replaceTags makes, to
// check it calls only for what differs; the real services are exercised end to end by
// ci/internal/providertest.
type recordingTagger struct {
	remote map[string]string
	calls  []string
	fail   string // the call that fails: "tags", "tag" or "untag"
}

func (r *recordingTagger) tags(_ context.Context, key string) (map[string]string, error) {
	if r.fail == "tags" {
		return nil, errors.New("denied")
	}
	return maps.Clone(r.remote), nil
}

func (r *recordingTagger) tag(_ context.Context, key string, set map[string]string) error {
	r.calls = append(r.calls, fmt.Sprintf("tag %s %v", key, set))
	if r.fail == "tag" {
		return errors.New("denied")
	}
	maps.Copy(r.remote, set)
	return nil
}

func (r *recordingTagger) untag(_ context.Context, key string, remove []string) error {
	r.calls = append(r.calls, fmt.Sprintf("untag %s %v", key, remove))
	if r.fail == "untag" {
		return errors.New("denied")
	}
	for _, k := range remove {
		delete(r.remote, k)
	}
	return nil
}

func TestReplaceTags(t *testing.T) {
	tests := []struct {
		name         string
		remote, want map[string]string
		fail         string
		calls        []string
		err          string
	}{
		{"equal: no call", map[string]string{"a": "1"}, map[string]string{"a": "1"}, "", nil, ""},
		{"add and change", map[string]string{"a": "1", "b": "2"}, map[string]string{"a": "1", "b": "3", "c": "4"}, "",
			[]string{"tag arn map[b:3 c:4]"}, ""},
		{"remove", map[string]string{"z": "1", "a": "2", "m": "3"}, map[string]string{"m": "3"}, "",
			[]string{"untag arn [a z]"}, ""},
		{"remove and set", map[string]string{"a": "1"}, map[string]string{"b": "2"}, "",
			[]string{"untag arn [a]", "tag arn map[b:2]"}, ""},
		{"read fails", nil, map[string]string{"b": "2"}, "tags", nil, "read tags: denied"},
		{"untag fails", map[string]string{"a": "1"}, map[string]string{"b": "2"}, "untag",
			[]string{"untag arn [a]"}, "untag [a]: denied"},
		{"tag fails", nil, map[string]string{"b": "2"}, "tag", []string{"tag arn map[b:2]"}, "tag: denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &recordingTagger{remote: maps.Clone(tc.remote), fail: tc.fail}
			if api.remote == nil {
				api.remote = map[string]string{}
			}
			err := replaceTags(context.Background(), api, "arn", tc.want)
			if !slices.Equal(api.calls, tc.calls) {
				t.Errorf("calls %q, want %q", api.calls, tc.calls)
			}
			switch {
			case tc.err != "":
				if err == nil || err.Error() != tc.err {
					t.Errorf("error %v, want %q", err, tc.err)
				}
			case err != nil:
				t.Errorf("error %v", err)
			case !maps.Equal(api.remote, tc.want):
				t.Errorf("remote tags %v, want %v", api.remote, tc.want)
			}
		})
	}
}

func TestTagListIsSorted(t *testing.T) {
	got := tagList(map[string]string{"b": "2", "a": "1", "c": "3"}, func(k, v *string) string { return *k + "=" + *v })
	if want := []string{"a=1", "b=2", "c=3"}; !slices.Equal(got, want) {
		t.Errorf("tagList = %q, want %q", got, want)
	}
	if got := tagMap(got, func(s string) (*string, *string) {
		k, v, _ := strings.Cut(s, "=")
		return &k, &v
	}); !maps.Equal(got, map[string]string{"a": "1", "b": "2", "c": "3"}) {
		t.Errorf("tagMap(tagList(m)) = %v, want m", got)
	}
}
