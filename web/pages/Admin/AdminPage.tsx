// Placeholder while the page is built.
export default function AdminPage() {
  return <p>AdminPage</p>;
}
