package state

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// maxForeign bounds the resources a refusal names; one is enough to see the mistake.
const maxForeign = 3

// CheckBackupEnvironment refuses a backup whose resources are tagged for another
// environment (tagKey, the profile's environment tag, in tags_all or tags): restore-state
// --from-file takes any file, and a prod backup pushed into staging's empty backend hands
// staging prod's tables and buckets, which its next apply changes. A resource without the
// tag says nothing either way; a backup that is no state is ReadState's to refuse.
func CheckBackupEnvironment(env environment.Name, tagKey string, backup []byte) error {
	var raw struct {
		Resources []struct {
			Module, Mode, Type, Name string
			Instances                []struct {
				IndexKey   any `json:"index_key"`
				Attributes struct {
					TagsAll map[string]any `json:"tags_all"`
					Tags    map[string]any `json:"tags"`
				} `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if tagKey == "" || json.Unmarshal(backup, &raw) != nil {
		return nil
	}
	var foreign []string
	total := 0
	for _, r := range raw.Resources {
		for _, inst := range r.Instances {
			tag, ok := inst.Attributes.TagsAll[tagKey]
			if !ok {
				tag, ok = inst.Attributes.Tags[tagKey]
			}
			value, _ := tag.(string)
			if !ok || value == string(env) {
				continue
			}
			if total++; len(foreign) < maxForeign {
				foreign = append(foreign, fmt.Sprintf("%s has %s = %q", address(r.Module, r.Mode, r.Type, r.Name, inst.IndexKey), tagKey, value))
			}
		}
	}
	if total == 0 {
		return nil
	}
	more := ""
	if total > len(foreign) {
		more = fmt.Sprintf(" (and %d more)", total-len(foreign))
	}
	return fmt.Errorf("restore refused: the backup holds resources of another environment, not %s: %s%s. Restored into %s, they would be %s's to change. Restore a backup of %s (backups --env=%s lists them)",
		env, strings.Join(foreign, "; "), more, env, env, env, env)
}
