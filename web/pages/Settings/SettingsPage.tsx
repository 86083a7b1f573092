// Your own settings: profile and password, API tokens, and your Anthropic API key.
import { Stack, Title } from '@mantine/core';
import { AnthropicKeySection } from './AnthropicKeySection.js';
import { PasswordSection } from './PasswordSection.js';
import { ProfileSection } from './ProfileSection.js';
import { TokensSection } from './TokensSection.js';

export default function SettingsPage() {
  return (
    <Stack maw={880}>
      <Title order={1} size="h2">
        Settings
      </Title>
      <ProfileSection />
      <TokensSection />
      <AnthropicKeySection />
      <PasswordSection />
    </Stack>
  );
}
