package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/smithy-go"
	"github.com/hashicorp/terraform-plugin-framework/diag"
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

// sortedKeys gives tag maps a stable order for requests.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
