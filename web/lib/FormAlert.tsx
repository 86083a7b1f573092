// A form's error that belongs to no single field, announced to screen readers as it appears.
import { Alert } from '@mantine/core';

export function FormAlert({ message }: { message: string | null | undefined | false }) {
  if (!message) return null;
  return (
    <Alert color="red" role="alert">
      {message}
    </Alert>
  );
}
