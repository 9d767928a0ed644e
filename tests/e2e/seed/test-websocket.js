import { io } from 'socket.io-client'

const socket = io('http://localhost:3000/pose-generator', {
  path: '/pose-generator-ws',
  auth: { token: 'YOUR_JWT_TOKEN' }
})

socket.on('connect', () => console.log('✅ Connected'))
socket.on('connected', (data) => console.log('✅ Authenticated:', data))
socket.on('pose-generation-update', (event) => console.log('📦 Update:', event))
socket.on('disconnect', (reason) => console.log('❌ Disconnected:', reason))
