// An ARIA tablist with roving focus: Left/Right/Home/End move between tabs
// and select them, as the WAI-ARIA tabs pattern describes.
import { useRef, type KeyboardEvent } from "react";

export interface TabItem<K extends string> {
  key: K;
  label: string;
}

export interface TabsProps<K extends string> {
  label: string;
  tabs: readonly TabItem<K>[];
  selected: K;
  onSelect: (key: K) => void;
  /** id prefix: tab `${idPrefix}-tab-${key}` controls panel `${idPrefix}-panel`. */
  idPrefix: string;
}

export function Tabs<K extends string>({ label, tabs, selected, onSelect, idPrefix }: TabsProps<K>) {
  const refs = useRef(new Map<K, HTMLButtonElement>());

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const index = tabs.findIndex((t) => t.key === selected);
    let next: number;
    switch (e.key) {
      case "ArrowRight":
        next = (index + 1) % tabs.length;
        break;
      case "ArrowLeft":
        next = (index - 1 + tabs.length) % tabs.length;
        break;
      case "Home":
        next = 0;
        break;
      case "End":
        next = tabs.length - 1;
        break;
      default:
        return;
    }
    e.preventDefault();
    const tab = tabs[next];
    if (tab) {
      onSelect(tab.key);
      refs.current.get(tab.key)?.focus();
    }
  };

  return (
    <div className="tabs" role="tablist" aria-label={label} onKeyDown={onKeyDown}>
      {tabs.map((t) => (
        <button
          key={t.key}
          ref={(el) => {
            if (el) {
              refs.current.set(t.key, el);
            } else {
              refs.current.delete(t.key);
            }
          }}
          type="button"
          role="tab"
          id={`${idPrefix}-tab-${t.key}`}
          className="tab"
          aria-selected={t.key === selected}
          aria-controls={`${idPrefix}-panel`}
          tabIndex={t.key === selected ? 0 : -1}
          onClick={() => onSelect(t.key)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
