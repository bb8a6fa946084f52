import { useState } from "preact/hooks";
import { admin, ApiError } from "../api.js";
import { localDateToSeconds, splitList } from "../format.js";
import { useI18n } from "../i18n.js";
import type { CreatedApiKey, User } from "../types.js";

/** Creates a key with the fields the admin API has: owner, name, limits, models, allowed IPs, expiry. */
export function CreateKeyForm(props: { users: User[]; onCreated: (key: CreatedApiKey) => void }) {
  const { t } = useI18n();
  const [userId, setUserId] = useState("");
  const [name, setName] = useState("");
  const [perMinute, setPerMinute] = useState("");
  const [perHour, setPerHour] = useState("");
  const [models, setModels] = useState("");
  const [expires, setExpires] = useState("");
  const [allowedIps, setAllowedIps] = useState("");
  const [error, setError] = useState<string | null>(null);
  const value = (setter: (text: string) => void) => (event: Event) => setter((event.target as HTMLInputElement).value);

  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const modelList = models.split(",").map((model) => model.trim()).filter(Boolean);
    const ipList = splitList(allowedIps);
    try {
      const key = await admin<CreatedApiKey>("POST", "/api-keys", {
        user_id: Number(userId),
        key_name: name,
        ...(perMinute ? { rate_limit_per_minute: Number(perMinute) } : {}),
        ...(perHour ? { rate_limit_per_hour: Number(perHour) } : {}),
        ...(modelList.length > 0 ? { models: modelList } : {}),
        ...(expires ? { expires_at: localDateToSeconds(expires) } : {}),
        ...(ipList.length > 0 ? { allowed_ips: ipList } : {}),
      });
      setName("");
      setPerMinute("");
      setPerHour("");
      setModels("");
      setExpires("");
      setAllowedIps("");
      props.onCreated(key);
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    }
  };

  return (
    <form class="inline-form" onSubmit={create} aria-label={t("keys.new")}>
      <label>
        {t("keys.user")}
        <select name="user_id" aria-label={t("keys.user")} required value={userId} onChange={value(setUserId)}>
          <option value="">{t("keys.pickUser")}</option>
          {props.users.map((user) => (
            <option key={user.id} value={String(user.id)}>
              {user.username}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("keys.name")}
        <input name="key_name" required maxLength={128} value={name} onInput={value(setName)} />
      </label>
      <label>
        {t("keys.perMinute")}
        <input name="rate_limit_per_minute" type="number" min={1} placeholder={t("keys.default")} value={perMinute} onInput={value(setPerMinute)} />
      </label>
      <label>
        {t("keys.perHour")}
        <input name="rate_limit_per_hour" type="number" min={1} placeholder={t("keys.default")} value={perHour} onInput={value(setPerHour)} />
      </label>
      <label>
        {t("keys.models")}
        <input name="models" placeholder={t("keys.modelsHint")} value={models} onInput={value(setModels)} />
      </label>
      <label>
        {t("keys.allowedIps")}
        <input name="allowed_ips" placeholder={t("keys.allowedIpsShortHint")} value={allowedIps} onInput={value(setAllowedIps)} />
      </label>
      <label>
        {t("keys.expires")}
        <input name="expires_at" type="date" value={expires} onInput={value(setExpires)} />
      </label>
      <button type="submit" class="primary">
        {t("keys.new")}
      </button>
      {error && <p role="alert" class="error">{error}</p>}
    </form>
  );
}
