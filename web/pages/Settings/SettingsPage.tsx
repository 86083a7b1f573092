// Placeholder while the page is built.
export default function SettingsPage() {
  return <p>SettingsPage</p>;
}
