package main

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// tagAPI is one resource type's access to the tags of its remote objects, each named by
// the key its service's tagging calls take (an ARN, or a bucket name).
type tagAPI interface {
	tags(ctx context.Context, key string) (map[string]string, error)
	// setTags makes the object's tags exactly tags.
	setTags(ctx context.Context, key string, tags map[string]string) error
}

// readTags reads the object's tags into the tags attribute (see tagsToState).
func (r *configured) readTags(ctx context.Context, api tagAPI, key, what string, prior types.Map) (types.Map, diag.Diagnostics) {
	remote, err := api.tags(ctx, key)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Read tags of "+what+" "+key, err.Error())
		return prior, diags
	}
	return r.tagsToState(ctx, prior, remote)
}

// updateTags is the Update of every resource here. Their other attributes force
// replacement or, like force_destroy, live in state only, so an update makes the remote
// tags match the plan and stores the plan. key is the attribute holding the object's key
// for api.
func (r *configured) updateTags(ctx context.Context, api tagAPI, key, what string, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var planTags types.Map
	var id types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("tags"), &planTags)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(key), &id)...)
	if resp.Diagnostics.HasError() {
		return
	}
	tags, diags := r.withDefaults(ctx, planTags)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := api.setTags(ctx, id.ValueString(), tags); err != nil {
		resp.Diagnostics.AddError("Tag "+what+" "+id.ValueString(), err.Error())
		return
	}
	// The response starts out null, whatever its doc comment says: store the plan.
	resp.State.Raw = req.Plan.Raw
}

// keyTagger is a tagging API that sets and removes single keys (DynamoDB, SNS), where S3
// replaces the whole set.
type keyTagger interface {
	tags(ctx context.Context, key string) (map[string]string, error)
	tag(ctx context.Context, key string, set map[string]string) error
	untag(ctx context.Context, key string, remove []string) error
}

// replaceTags makes the object's tags exactly want, with a call only for what differs.
func replaceTags(ctx context.Context, api keyTagger, key string, want map[string]string) error {
	old, err := api.tags(ctx, key)
	if err != nil {
		return fmt.Errorf("read tags: %w", err)
	}
	set, remove := tagChanges(old, want)
	if len(remove) > 0 {
		if err := api.untag(ctx, key, remove); err != nil {
			return fmt.Errorf("untag %v: %w", remove, err)
		}
	}
	if len(set) > 0 {
		if err := api.tag(ctx, key, set); err != nil {
			return fmt.Errorf("tag: %w", err)
		}
	}
	return nil
}

// tagList turns tags into a service's tag list, in key order so requests are
// deterministic.
func tagList[T any](tags map[string]string, tag func(key, value *string) T) []T {
	var list []T
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		list = append(list, tag(aws.String(k), aws.String(tags[k])))
	}
	return list
}

// tagMap turns a service's tag list into a map.
func tagMap[T any](list []T, keyValue func(T) (key, value *string)) map[string]string {
	tags := make(map[string]string, len(list))
	for _, t := range list {
		k, v := keyValue(t)
		tags[aws.ToString(k)] = aws.ToString(v)
	}
	return tags
}

// tagsFromConfig converts a tags value. Null means no tags; so does a value not known
// yet, which only happens while planning, when nothing is written.
func tagsFromConfig(ctx context.Context, m types.Map) (map[string]string, diag.Diagnostics) {
	tags := map[string]string{}
	if m.IsNull() || m.IsUnknown() {
		return tags, nil
	}
	for _, v := range m.Elements() {
		if v.IsUnknown() {
			return tags, nil
		}
	}
	diags := m.ElementsAs(ctx, &tags, false)
	return tags, diags
}

// withDefaults returns the tags the remote object must carry: the provider's
// default_tags overridden by the resource's own tags, as in the real provider.
func (r *configured) withDefaults(ctx context.Context, tags types.Map) (map[string]string, diag.Diagnostics) {
	own, diags := tagsFromConfig(ctx, tags)
	all := map[string]string{}
	maps.Copy(all, r.c.defaultTags)
	maps.Copy(all, own)
	return all, diags
}

// tagsToState turns the remote tags into the tags attribute, which holds what the
// resource sets itself: keys it had before, and keys that are not default tags with the
// same value (so a default tag changed out of band shows as drift). There is no tags_all.
// An object without own tags gets null tags, unless the prior value was an empty map:
// `tags = {}` in configuration must not look like drift.
func (r *configured) tagsToState(ctx context.Context, prior types.Map, remote map[string]string) (types.Map, diag.Diagnostics) {
	own := map[string]string{}
	for k, v := range remote {
		_, before := prior.Elements()[k]
		def, isDefault := r.c.defaultTags[k]
		if before || !isDefault || def != v {
			own[k] = v
		}
	}
	switch {
	case len(own) > 0:
		return types.MapValueFrom(ctx, types.StringType, own)
	case !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0:
		return prior, nil
	default:
		return types.MapNull(types.StringType), nil
	}
}

// tagChanges returns the tags to set (new or changed) and the keys to remove, sorted so
// requests are deterministic.
func tagChanges(old, new map[string]string) (set map[string]string, remove []string) {
	set = map[string]string{}
	for k, v := range new {
		if ov, ok := old[k]; !ok || ov != v {
			set[k] = v
		}
	}
	for k := range old {
		if _, ok := new[k]; !ok {
			remove = append(remove, k)
		}
	}
	slices.Sort(remove)
	return set, remove
}
