// Placeholder while the page is built.
export default function TaskPage(_props: { id?: string }) {
  return <p>TaskPage</p>;
}
