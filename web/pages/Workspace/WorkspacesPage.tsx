// Placeholder while the page is built.
export default function WorkspacesPage() {
  return <p>WorkspacesPage</p>;
}
