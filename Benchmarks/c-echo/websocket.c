#define _GNU_SOURCE
#include "websocket.h"
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char key_header[] = "Sec-WebSocket-Key:";
static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

long ws_upgrade(const uint8_t *in, size_t length, size_t *consumed, uint8_t *out, size_t capacity) {
    const char *head = (const char *)in;
    const char *end = memmem(head, length, "\r\n\r\n", 4);
    if (!end) return length >= WS_HEAD_LIMIT ? -1 : 0;
    *consumed = (size_t)(end + 4 - head);
    const char *key = NULL;
    size_t key_length = 0;
    for (const char *line = head; line && line < end; line = memchr(line, '\n', (size_t)(end - line))) {
        if (*line == '\n') line++;
        if ((size_t)(end - line) > sizeof key_header && strncasecmp(line, key_header, sizeof key_header - 1) == 0) {
            key = line + sizeof key_header - 1;
            while (*key == ' ') key++;
            const char *stop = memchr(key, '\r', (size_t)(end + 1 - key));
            key_length = (size_t)(stop - key);
            while (key_length > 0 && key[key_length - 1] == ' ') key_length--;
            break;
        }
    }
    if (!key || key_length == 0 || key_length > 64) return -1;
    char joined[64 + sizeof guid];
    memcpy(joined, key, key_length);
    memcpy(joined + key_length, guid, sizeof guid - 1);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)joined, key_length + sizeof guid - 1, digest);
    char accept[32];
    EVP_EncodeBlock((unsigned char *)accept, digest, SHA_DIGEST_LENGTH);
    int written = snprintf((char *)out, capacity,
                           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
    return written < 0 || (size_t)written >= capacity ? -1 : written;
}

size_t ws_answer_frames(const uint8_t *in, size_t length, struct ws_output *data, struct ws_output *control, int *closing) {
    size_t at = 0;
    while (length - at >= 2 && !*closing) {
        const uint8_t *frame = in + at;
        uint64_t payload = frame[1] & 0x7f;
        size_t head = 2;
        if (payload == 126) {
            if (length - at < 4) break;
            payload = (uint64_t)frame[2] << 8 | frame[3];
            head = 4;
        } else if (payload == 127) {
            if (length - at < 10) break;
            payload = 0;
            for (int i = 0; i < 8; i++) payload = payload << 8 | frame[2 + i];
            head = 10;
        }
        // Clients must mask (RFC 6455 5.1); a frame that cannot fit the buffer would never complete.
        if (!(frame[1] & 0x80) || payload > WS_BUFFER - 14) {
            *closing = 1;
            break;
        }
        if (length - at < head + 4 + payload) break;
        size_t whole = head + 4 + (size_t)payload;
        uint8_t first = frame[0];
        struct ws_output *output = data;
        switch (first & 0x0f) {
        case 0x8: output = control; break;
        case 0x9: output = control; first = (uint8_t)((first & 0xf0) | 0xa); break;  // ping: pong
        case 0xa: at += whole; continue;                                              // unsolicited pong
        }
        size_t reply_head = payload < 126 ? 2 : 4;
        if (output->length + reply_head + payload > output->capacity) break;  // until the sends drain
        uint8_t *reply = output->bytes + output->length;
        reply[0] = first;
        if (payload < 126) {
            reply[1] = (uint8_t)payload;
        } else {
            reply[1] = 126;
            reply[2] = (uint8_t)(payload >> 8);
            reply[3] = (uint8_t)payload;
        }
        const uint8_t *mask = frame + head;
        for (size_t i = 0; i < payload; i++) reply[reply_head + i] = frame[head + 4 + i] ^ mask[i & 3];
        output->length += reply_head + (size_t)payload;
        at += whole;
        if ((first & 0x0f) == 0x8) *closing = 1;  // once its answer is written
    }
    return at;
}
