// The workspace's files as a tree (Mantine's Tree). Directories list themselves when first
// expanded; clicking a file (or Enter on it) opens it, clicking anything selects it as the
// target of the toolbar's actions.
import { Box, Group, Loader, Text, Tree, type TreeNodeData, useTree } from '@mantine/core';
import { type KeyboardEvent, useMemo } from 'react';
import { formatBytes } from '../../lib/format.js';
import type { WorkspaceFile } from './fileApi.js';
import type { Listings } from './useDirListings.js';

function toNodes(listings: Listings, dir: string): TreeNodeData[] {
  return (listings[dir] ?? []).map((e) => {
    if (e.type !== 'dir') return { value: e.path, label: e.name };
    const children = listings[e.path];
    return children
      ? { value: e.path, label: e.name, children: toNodes(listings, e.path) }
      : { value: e.path, label: e.name, hasChildren: true };
  });
}

export function FileTree({
  listings,
  loading,
  onExpand,
  selected,
  onActivate,
}: {
  listings: Listings;
  loading: Record<string, boolean>;
  /** A directory was expanded: list it if it is not yet. */
  onExpand: (dir: string) => void;
  selected: string | null;
  /** A click or Enter on an entry. */
  onActivate: (entry: WorkspaceFile) => void;
}) {
  // Tree initialises its state whenever `data` changes identity, so both are derived once per
  // change of the listings, not on every render.
  const data = useMemo(() => toNodes(listings, ''), [listings]);
  const byPath = useMemo(
    () => new Map(Object.values(listings).flatMap((l) => l.map((e) => [e.path, e] as const))),
    [listings],
  );
  // Tree expands files too on a click; only directories have anything to list.
  const tree = useTree({
    selectedState: selected ? [selected] : [],
    onNodeExpand: (value) => byPath.get(value)?.type === 'dir' && onExpand(value),
  });
  const activate = (path: string | undefined) => {
    const entry = path === undefined ? undefined : byPath.get(path);
    if (entry) onActivate(entry);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const item = e.target as HTMLElement;
    if (e.key === 'Enter' && item.getAttribute('role') === 'treeitem') {
      e.preventDefault();
      activate(item.dataset.value);
    }
  };

  return (
    <Box onKeyDown={onKeyDown}>
      <Tree
        aria-label="Files"
        data={data}
        tree={tree}
        levelOffset="md"
        renderNode={({ node, expanded: open, selected: isSelected, elementProps }) => {
          const entry = byPath.get(node.value);
          const isDir = entry?.type === 'dir';
          return (
            <Group
              gap={6}
              wrap="nowrap"
              {...elementProps}
              onClick={(ev) => {
                elementProps.onClick(ev);
                activate(node.value);
              }}
              py={3}
              px={4}
              style={{
                ...elementProps.style,
                borderRadius: 4,
                cursor: 'pointer',
                background: isSelected ? 'var(--mantine-primary-color-light)' : undefined,
              }}
            >
              <Text span size="xs" c="dimmed" w={10} ta="center" aria-hidden>
                {isDir ? (open ? '▾' : '▸') : ''}
              </Text>
              <Text span size="sm" fw={isDir ? 500 : 400} truncate style={{ flex: 1 }}>
                {node.label}
                {isDir ? '/' : ''}
              </Text>
              {loading[node.value] && <Loader size={12} />}
              {entry && !isDir && (
                <Text span size="xs" c="dimmed" visibleFrom="sm" style={{ whiteSpace: 'nowrap' }}>
                  {formatBytes(entry.size)}
                </Text>
              )}
            </Group>
          );
        }}
      />
    </Box>
  );
}
