// Mantine's PasswordInput leaves aria-invalid and aria-describedby off its inner input (it renders
// with withAria: false), so a screen reader would not hear the field's error or description. This
// adds them, pointing at the ids the input wrapper gives those texts (`<id>-error`, `<id>-description`).
import { PasswordInput, type PasswordInputProps } from '@mantine/core';
import { useId } from 'react';

export function PasswordField(props: PasswordInputProps) {
  const autoId = useId();
  const id = props.id ?? autoId;
  const describedBy =
    [props.description ? `${id}-description` : '', props.error ? `${id}-error` : '']
      .filter(Boolean)
      .join(' ') || undefined;
  return (
    <PasswordInput
      {...props}
      id={id}
      aria-invalid={props.error ? true : undefined}
      aria-describedby={describedBy}
    />
  );
}
