import { useEffect, useState } from "preact/hooks";
import { messages, type Language, type MessageKey } from "./messages.js";

const STORAGE_KEY = "llmgw-console-language";
const listeners = new Set<(language: Language) => void>();

function initialLanguage(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === "en" || saved === "zh") return saved;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

let current: Language = initialLanguage();
document.documentElement.lang = current === "zh" ? "zh-CN" : "en";

/** Switches every mounted component to `language` and remembers it (only the language is stored). */
export function setLanguage(language: Language) {
  current = language;
  localStorage.setItem(STORAGE_KEY, language);
  document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  for (const listener of listeners) listener(language);
}

export type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

/** The current language and its `t(key, values)`. */
export function useI18n(): { language: Language; t: Translate } {
  const [language, setState] = useState(current);
  useEffect(() => {
    listeners.add(setState);
    return () => listeners.delete(setState);
  }, []);
  const t: Translate = (key, values = {}) =>
    messages[language][key].replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? `{${name}}`));
  return { language, t };
}
