// .proto files are imported as text (esbuild's `with { type: 'text' }`), parsed by protobufjs.
declare module '*.proto' {
  const text: string;
  export default text;
}
