// An accessible tab list: click or arrows/Home/End move between tabs; the
// selected tab alone is in the tab order; other panels are `hidden`.

export function initTabs(list, onSelect = () => {}) {
  const tabs = () => [...list.querySelectorAll('[role="tab"]')].filter((t) => !t.hidden);

  function select(tab, focus = false) {
    for (const t of list.querySelectorAll('[role="tab"]')) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
    onSelect(tab.id);
  }

  list.addEventListener("click", (ev) => {
    const tab = ev.target.closest('[role="tab"]');
    if (tab) select(tab);
  });
  list.addEventListener("keydown", (ev) => {
    const all = tabs();
    const i = all.indexOf(document.activeElement);
    if (i < 0) return;
    let j = null;
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") j = (i + 1) % all.length;
    else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") j = (i - 1 + all.length) % all.length;
    else if (ev.key === "Home") j = 0;
    else if (ev.key === "End") j = all.length - 1;
    if (j === null) return;
    ev.preventDefault();
    select(all[j], true);
  });

  return {
    select: (id) => select(document.getElementById(id)),
    selected: () => list.querySelector('[aria-selected="true"]'),
  };
}
