// ProtService: the key service (`protfs serve`). `KeyService` decides key requests without HTTP;
// `ServiceServer` is the HTTP(S) transport; `Notifier` tells owners of every open of their shares.
