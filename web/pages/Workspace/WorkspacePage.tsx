// Placeholder while the page is built.
export default function WorkspacePage(_props: { id?: string }) {
  return <p>WorkspacePage</p>;
}
