package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/smithy-go"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// configured gives every resource the provider's clients.
type configured struct {
	c *clients
}

func (r *configured) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData == nil { // validation runs before the provider is configured
		return
	}
	c, ok := req.ProviderData.(*clients)
	if !ok {
		resp.Diagnostics.AddError("Configure resource", fmt.Sprintf("unexpected provider data %T", req.ProviderData))
		return
	}
	r.c = c
}

// Attributes every resource shares, with the real provider's names.
var (
	idAttribute = schema.StringAttribute{
		Computed:      true,
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	arnAttribute = schema.StringAttribute{
		Computed:      true,
		PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	tagsAttribute = schema.MapAttribute{
		ElementType: types.StringType,
		Optional:    true,
		Description: "Tags on the remote object; Read returns what is really there, so changes made elsewhere show as drift.",
	}
	tagsAllAttribute = schema.MapAttribute{
		ElementType: types.StringType,
		Computed:    true,
		Description: "All tags of the remote object, default_tags included.",
	}
)

// requiredForceNew is a required string whose change replaces the object, as a name does.
func requiredForceNew(description string) schema.StringAttribute {
	return schema.StringAttribute{
		Required:      true,
		Description:   description,
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

// isNotFound reports whether an AWS error says the object does not exist, across the
// services' different error codes.
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode() {
	case "NotFound", "NoSuchBucket", "ResourceNotFoundException", "NotFoundException":
		return true
	}
	return false
}

// knownTags converts a tags value; null means no tags. known is false when the map or
// any of its values is not known yet.
func knownTags(ctx context.Context, m types.Map) (tags map[string]string, known bool, diags diag.Diagnostics) {
	tags = map[string]string{}
	if m.IsUnknown() {
		return nil, false, nil
	}
	for _, v := range m.Elements() {
		if v.IsUnknown() {
			return nil, false, nil
		}
	}
	if m.IsNull() {
		return tags, true, nil
	}
	diags = m.ElementsAs(ctx, &tags, false)
	return tags, true, diags
}

// tagsFromPlan converts a tags value of a plan, where everything is known.
func tagsFromPlan(ctx context.Context, m types.Map) (map[string]string, diag.Diagnostics) {
	tags, _, diags := knownTags(ctx, m)
	if tags == nil {
		tags = map[string]string{}
	}
	return tags, diags
}

// wantTags returns the tags a create or update must leave on the remote object: the
// planned tags_all, or, if that was still unknown at plan time, defaults and tags merged now.
func (r *configured) wantTags(ctx context.Context, tags, all types.Map) (map[string]string, types.Map, diag.Diagnostics) {
	if !all.IsUnknown() {
		want, diags := tagsFromPlan(ctx, all)
		return want, all, diags
	}
	own, diags := tagsFromPlan(ctx, tags)
	want := map[string]string{}
	maps.Copy(want, r.c.defaultTags)
	maps.Copy(want, own)
	all, d := types.MapValueFrom(ctx, types.StringType, want)
	diags.Append(d...)
	return want, all, diags
}

// ModifyPlan plans tags_all, the tags the remote object will carry: the provider's
// default_tags overridden by the resource's tags, as in the real provider.
func (r *configured) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() { // destroy
		return
	}
	var tags types.Map
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("tags"), &tags)...)
	if resp.Diagnostics.HasError() {
		return
	}
	own, known, diags := knownTags(ctx, tags)
	resp.Diagnostics.Append(diags...)
	all := types.MapUnknown(types.StringType)
	if known && r.c != nil && r.c.defaultTags != nil {
		merged := map[string]string{}
		maps.Copy(merged, r.c.defaultTags)
		maps.Copy(merged, own)
		all, diags = types.MapValueFrom(ctx, types.StringType, merged)
		resp.Diagnostics.Append(diags...)
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("tags_all"), all)...)
}

// tagsToState splits the remote tags into the tags and tags_all attributes. tags keeps
// what the resource sets itself: keys it had before, and keys that are not default tags
// with the same value. An object without own tags gets null tags, unless the prior value
// was an empty map: `tags = {}` in configuration must not look like drift.
func (r *configured) tagsToState(ctx context.Context, prior types.Map, remote map[string]string) (tags, all types.Map, diags diag.Diagnostics) {
	own := map[string]string{}
	for k, v := range remote {
		_, before := prior.Elements()[k]
		def, isDefault := r.c.defaultTags[k]
		if before || !isDefault || def != v {
			own[k] = v
		}
	}
	if remote == nil {
		remote = map[string]string{}
	}
	all, diags = types.MapValueFrom(ctx, types.StringType, remote)
	switch {
	case len(own) > 0:
		var d diag.Diagnostics
		tags, d = types.MapValueFrom(ctx, types.StringType, own)
		diags.Append(d...)
	case !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0:
		tags = prior
	default:
		tags = types.MapNull(types.StringType)
	}
	return tags, all, diags
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

// sortedKeys gives tag maps a stable order for requests.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
