import { useI18n } from "../i18n.js";

export type Bucket = "hour" | "day";

/** Hour or day buckets of a usage series (overview and usage pages). */
export function BucketSelect(props: { value: Bucket; onChange(bucket: Bucket): void }) {
  const { t } = useI18n();
  return (
    <label>
      {t("bucket.label")}
      <select aria-label={t("bucket.label")} value={props.value} onChange={(event) => props.onChange((event.target as HTMLSelectElement).value as Bucket)}>
        <option value="hour">{t("bucket.hour")}</option>
        <option value="day">{t("bucket.day")}</option>
      </select>
    </label>
  );
}
